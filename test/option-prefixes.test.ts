// Option prefixes as the reference's optparse accepts them (`--ssl-on` is `--ssl-only`), on the
// real command, and the rewriting itself: exact names win, a shared prefix is an error naming
// the candidates, values and the wrapped command line are left alone. Options are only spelled
// as in --help: camelCase forms are unknown and never appear in messages.

import { describe, expect, it } from '@jest/globals';
import { expandOptionPrefixes } from '../src/cli/option-prefixes.js';
import { UsageError } from '../src/cli/parse.js';
import { startCliForTest, runToExit } from './helpers/cli.js';

const TRY = "\nTry 'websockify --help' for more information.\n";
const OPTIONS = [
  { name: 'ssl-only', takesValue: false },
  { name: 'ssl-target', takesValue: false },
  { name: 'verbose', takesValue: false },
  { name: 'key-password', takesValue: true },
  { name: 'web', takesValue: true },
  { name: 'web-auth', takesValue: false },
];

describe('expandOptionPrefixes', () => {
  it('completes unique prefixes, keeps =values, and leaves short options, positionals and values alone', () => {
    expect(expandOptionPrefixes(['--verb', '--ssl-o', '--key-p=--verb', '-v', '6080', 'h:1'], OPTIONS)).toEqual([
      '--verbose',
      '--ssl-only',
      '--key-password=--verb',
      '-v',
      '6080',
      'h:1',
    ]);
    // The value of an option that takes one is not an option.
    expect(expandOptionPrefixes(['--key-p', '--verb', '--verb'], OPTIONS)).toEqual([
      '--key-password',
      '--verb',
      '--verbose',
    ]);
  });

  it('an exact name wins over the longer names it starts; unknown names are left for the parser', () => {
    expect(expandOptionPrefixes(['--web', 'dir', '--web-a', '--bogus'], OPTIONS)).toEqual([
      '--web',
      'dir',
      '--web-auth',
      '--bogus',
    ]);
  });

  it('stops at --: the wrapped command line is passed on as typed', () => {
    expect(expandOptionPrefixes(['--verb', '6080', '--', 'prog', '--verb', '--'], OPTIONS)).toEqual([
      '--verbose',
      '6080',
      '--',
      'prog',
      '--verb',
      '--',
    ]);
  });

  it('a prefix of several options is a usage error listing them', () => {
    expect(() => expandOptionPrefixes(['--ssl'], OPTIONS)).toThrow(
      new UsageError('option --ssl is ambiguous: it could be --ssl-only, --ssl-target'),
    );
  });
});

describe('on the command line', () => {
  it('--verb, --run-o and --idle-t 5 mean --verbose, --run-once and --idle-timeout 5', async () => {
    const cli = await startCliForTest(['--verb', '--run-o', '--idle-t', '5', '127.0.0.1:0', '127.0.0.1:9']);
    expect(cli.stderr()).toContain('  - Exit after the first WebSocket connection (--run-once)\n');
    expect(cli.stderr()).toContain('  - Exit after 5 s without connections\n');
  });

  it('an ambiguous prefix exits 2 naming the candidates', async () => {
    const r = await runToExit(['--ssl', '127.0.0.1:0', '127.0.0.1:9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'websockify: error: option --ssl is ambiguous: it could be --ssl-ciphers, --ssl-only, --ssl-target, ' +
        `--ssl-target-cafile, --ssl-version${TRY}`,
    );
  });

  it('camelCase spellings are unknown options, and messages never show camelCase names', async () => {
    const camel = await runToExit(['--logFile', 'x.log', '127.0.0.1:0', '127.0.0.1:9']);
    expect(camel.status).toBe(2);
    expect(camel.stderr).toBe(`websockify: error: unknown option --logFile${TRY}`);
    const typo = await runToExit(['--ssl-onyl', '127.0.0.1:0', '127.0.0.1:9']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toBe(`websockify: error: unknown option --ssl-onyl${TRY}`);
    const missing = await runToExit(['127.0.0.1:0', '127.0.0.1:9', '--max-message']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`websockify: error: option --max-message-size needs a value${TRY}`);
  });
});
