// Syslog message framing, byte for byte as the reference sends it: RFC 5424
// `<PRI>1 TIMESTAMP HOSTNAME websockify PID - - MSG` by default, or the old RFC 3164 style
// `<PRI>websockify[PID]: MSG` (--legacy-syslog). Newlines in a message become spaces; a message
// that is not ASCII is sent as UTF-8 with a BOM, as RFC 5424 asks.

import type { LogLevel } from './logger.js';

export type SyslogFacility = 'user' | 'daemon';

const FACILITY_CODES: Record<SyslogFacility, number> = { user: 1, daemon: 3 };
/** RFC 5424 severities of our levels (Python's mapPriority: warning 4, error 3...). */
const SEVERITIES: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

export const SYSLOG_APP_NAME = 'websockify';
const MAX_HOSTNAME = 255;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface SyslogFraming {
  facility: SyslogFacility;
  legacy: boolean;
  hostname: string;
  pid: number;
}

/** `2026-01-02T03:04:05Z`: UTC, whole seconds (the reference's `%Y-%m-%dT%H:%M:%SZ`). */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One syslog message for `line`, or undefined for an empty line (the reference sends none). */
export function frameSyslogMessage(
  framing: SyslogFraming,
  level: LogLevel,
  line: string,
  date = new Date(),
): Buffer | undefined {
  const text = line.replace(/\n/g, ' ');
  if (text === '') return undefined;
  const pri = FACILITY_CODES[framing.facility] * 8 + SEVERITIES[level];
  const header = framing.legacy
    ? `<${pri}>${SYSLOG_APP_NAME}[${framing.pid}]: `
    : `<${pri}>1 ${timestamp(date)} ${framing.hostname.slice(0, MAX_HOSTNAME)} ${SYSLOG_APP_NAME} ${framing.pid} - - `;
  // Header fields are ASCII only: other characters (in a hostname) are dropped.
  const head = Buffer.from(header.replace(/[^\x20-\x7e]/g, ''), 'ascii');
  // eslint-disable-next-line no-control-regex
  const body = /^[\x00-\x7f]*$/.test(text) ? Buffer.from(text, 'ascii') : Buffer.concat([UTF8_BOM, Buffer.from(text)]);
  return Buffer.concat([head, body]);
}
