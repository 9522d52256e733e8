// Syslog messages byte for byte as the reference frames them: RFC 5424 by default, the old
// RFC 3164 style with --legacy-syslog.

import { describe, expect, it } from '@jest/globals';
import { frameSyslogMessage, type SyslogFraming } from '../../src/log/syslog-format.js';

const AT = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
const framing: SyslogFraming = { facility: 'user', legacy: false, hostname: 'host', pid: 42 };
const text = (b: Buffer | undefined): string | undefined => b?.toString('latin1');

describe('frameSyslogMessage', () => {
  it('RFC 5424: <PRI>1 TIMESTAMP (UTC, whole seconds) HOSTNAME websockify PID - - MSG', () => {
    expect(text(frameSyslogMessage(framing, 'info', 'hello', AT))).toBe(
      '<14>1 2026-01-02T03:04:05Z host websockify 42 - - hello',
    );
  });

  it.each([
    ['user', 'debug', 15],
    ['user', 'info', 14],
    ['user', 'warn', 12],
    ['user', 'error', 11],
    ['daemon', 'debug', 31],
    ['daemon', 'info', 30],
    ['daemon', 'warn', 28],
    ['daemon', 'error', 27],
  ] as const)('facility %s, level %s: priority %i', (facility, level, pri) => {
    const message = text(frameSyslogMessage({ ...framing, facility }, level, 'x', AT));
    expect(message?.startsWith(`<${pri}>1 `)).toBe(true);
  });

  it('legacy: <PRI>websockify[PID]: MSG', () => {
    expect(text(frameSyslogMessage({ ...framing, facility: 'daemon', legacy: true }, 'warn', 'careful', AT))).toBe(
      '<28>websockify[42]: careful',
    );
  });

  it('newlines become spaces; an empty line is not sent', () => {
    expect(text(frameSyslogMessage(framing, 'info', 'a\nb\n', AT))).toMatch(/ - - a b $/);
    expect(frameSyslogMessage(framing, 'info', '', AT)).toBeUndefined();
  });

  it('a message that is not ASCII is UTF-8 after a BOM; the header stays ASCII', () => {
    const message = frameSyslogMessage({ ...framing, hostname: 'hôst' }, 'info', 'café', AT)!;
    const head = Buffer.from('<14>1 2026-01-02T03:04:05Z hst websockify 42 - - ', 'ascii');
    expect(message.equals(Buffer.concat([head, Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('café', 'utf8')]))).toBe(
      true,
    );
  });

  it('a hostname is cut at 255 characters', () => {
    const message = text(frameSyslogMessage({ ...framing, hostname: 'h'.repeat(300) }, 'info', 'x', AT))!;
    expect(message).toBe(`<14>1 2026-01-02T03:04:05Z ${'h'.repeat(255)} websockify 42 - - x`);
  });
});
