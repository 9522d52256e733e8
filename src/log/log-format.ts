// How a log entry becomes a line of text: `TIME MESSAGE` (ISO 8601 UTC with milliseconds), or
// with `--log-format json` one JSON object with stable field names (time, level, msg, and for
// connection events event, id, peer, path, target, bytes, duration, code). Imports nothing of
// ours but types.

import { fstatSync } from 'node:fs';
import type { LogEntry } from './logger.js';

/** The formats of --log-format (config/option-table.ts lists them for the command line). */
export type LogFormat = 'text' | 'json';

/** `1 byte`, `2 bytes`. */
export const byteCount = (n: number): string => (n === 1 ? '1 byte' : `${n} bytes`);

export function formatEntry(entry: LogEntry, format: LogFormat, withTime = true): string {
  const time = entry.time.toISOString();
  if (format === 'text') return withTime ? `${time} ${entry.message}` : entry.message;
  const f = entry.fields;
  const record: Record<string, unknown> = { time, level: entry.level, msg: entry.message };
  if (f) {
    if (f.event !== undefined) record.event = f.event;
    if (f.id !== undefined) record.id = f.id;
    if (f.peer !== undefined) record.peer = f.peer;
    if (f.path !== undefined) record.path = f.path;
    if (f.target !== undefined) record.target = f.target;
    if (f.bytes !== undefined) record.bytes = { to_target: f.bytes.toTarget, to_client: f.bytes.toClient };
    if (f.duration !== undefined) record.duration = f.duration;
    if (f.code !== undefined) record.code = f.code;
  }
  return JSON.stringify(record);
}

/**
 * True when stderr is the systemd journal (JOURNAL_STREAM names its device and inode): the
 * journal records a time for each line, so text lines go without one of their own.
 */
export function stderrCarriesTime(): boolean {
  const stream = process.env.JOURNAL_STREAM;
  if (!stream) return false;
  try {
    const { dev, ino } = fstatSync(2);
    return stream === `${dev}:${ino}`;
  } catch {
    return false;
  }
}
