// The value kinds: what each reads from text, what it refuses and how the refusal is worded
// (with the key, so the command line can put its flag in its place), and the matching library
// checks.

import { describe, expect, it } from '@jest/globals';
import { cliMessage } from '../../src/cli/usage-error.js';
import { TLS_VERSION } from '../../src/config/tls-versions.js';
import {
  BYTES,
  bytes,
  choice,
  milliseconds,
  OCTAL_MODE,
  PATH,
  PORT,
  SECONDS,
  wholeNumber,
  type ValueKind,
} from '../../src/config/values.js';
import type { WebsockifyError } from '../../src/errors/websockify-error.js';

function refusal(f: () => unknown): WebsockifyError {
  try {
    f();
  } catch (err) {
    return err as WebsockifyError;
  }
  throw new Error('not refused');
}

describe('reading text', () => {
  const cases: [string, ValueKind<unknown>, string, unknown][] = [
    ['SECONDS', SECONDS, '0', 0],
    ['SECONDS', SECONDS, '1.25', 1.25],
    ['BYTES', BYTES, '65536', 65536],
    ['OCTAL_MODE', OCTAL_MODE, '0660', 0o660],
    ['OCTAL_MODE', OCTAL_MODE, '7', 0o7],
    ['PORT', PORT, '65535', 65535],
    ['PATH', PATH, './x', './x'],
    ['choice', choice(['a', 'b']), 'b', 'b'],
    ['TLS_VERSION', TLS_VERSION, 'TLSv1_3', 'TLSv1.3'],
    ['TLS_VERSION', TLS_VERSION, 'default', 'TLSv1.2'],
    ['wholeNumber(0)', wholeNumber(0), '0', 0],
  ];
  it.each(cases)('%s reads %j', (_name, kind, text, value) => {
    expect(kind.parse(text, 'k', 'M')).toEqual(value);
  });

  const refused: [string, ValueKind<unknown>, string, string][] = [
    ['SECONDS', SECONDS, '1e3', "option k: expected a number of seconds, got '1e3'"],
    ['SECONDS', SECONDS, ' 1', "option k: expected a number of seconds, got ' 1'"],
    ['BYTES', BYTES, '0x10', "option k: expected a positive number of bytes, got '0x10'"],
    ['BYTES', BYTES, '99999999999999999', "option k: expected a positive number of bytes, got '99999999999999999'"],
    ['OCTAL_MODE', OCTAL_MODE, '8', "option k: expected octal permissions such as 0600 or 660, got '8'"],
    ['PORT', PORT, '0', "option k: expected a port number (1-65535), got '0'"],
    ['PATH', PATH, '', 'option k: the value is empty (expected M)'],
    ['choice', choice(['a', 'b', 'c']), 'd', "option k: expected a, b or c, got 'd'"],
    ['wholeNumber(1)', wholeNumber(1), '0', "option k: expected a whole number, 1 or more, got '0'"],
  ];
  it.each(refused)('%s refuses %j', (_name, kind, text, message) => {
    const err = refusal(() => kind.parse(text, 'k', 'M'));
    expect([err.code, err.option, err.message]).toEqual(['ERR_OPTION_VALUE', 'k', message]);
  });
});

describe('library checks', () => {
  it('seconds become milliseconds; undefined is off; negatives and non-numbers are refused', () => {
    expect(milliseconds(1.5, 'k')).toBe(1500);
    expect(milliseconds(undefined, 'k')).toBe(0);
    expect(refusal(() => milliseconds(-0.5, 'heartbeat')).message).toBe(
      'option heartbeat: expected a number of seconds, got -0.5',
    );
    expect(refusal(() => milliseconds('5' as unknown as number, 'heartbeat')).message).toBe(
      "option heartbeat: expected a number of seconds, got '5'",
    );
  });

  it('bytes and counts fall back when undefined and refuse what is not a whole number in range', () => {
    expect(bytes(undefined, 7, 'k')).toBe(7);
    expect(refusal(() => bytes(2.5, 7, 'maxFrameSize')).option).toBe('maxFrameSize');
    const workers = wholeNumber(1);
    expect(workers.check(undefined, 1, 'workers')).toBe(1);
    expect(workers.check(4, 1, 'workers')).toBe(4);
    expect(refusal(() => workers.check(0, 1, 'workers')).message).toBe(
      'option workers: expected a whole number, 1 or more, got 0',
    );
  });

  it("the command line puts the flag in the key's place", () => {
    expect(cliMessage(refusal(() => SECONDS.parse('x', 'idleTimeout', '')))).toBe(
      "option --idle-timeout: expected a number of seconds, got 'x'",
    );
  });
});
