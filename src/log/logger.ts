// The logger: levelled lines written to a set of sinks. Each line is an entry (time, level,
// message, and for connection events a few named fields); a sink turns it into text
// (log-format.ts: a timestamped line, or one JSON object) or, for syslog, frames the message
// with a header of its own. stderr is the default sink; file-sink.ts (--log-file) and
// syslog-sink.ts (--syslog) add others.

import { formatEntry, stderrCarriesTime, type LogFormat } from './log-format.js';
import { batchedWriter } from './batched-writer.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Named values of a connection event, the stable fields of `--log-format json`. */
export interface LogFields {
  /** `open` (WebSocket handshake done) or `close` (both sides closed). */
  event?: 'open' | 'close';
  id?: number;
  peer?: string;
  path?: string;
  target?: string;
  /** At close: bytes forwarded each way. */
  bytes?: { toTarget: number; toClient: number };
  /** At close: seconds since the handshake. */
  duration?: number;
  /** At close: the WebSocket close code. */
  code?: number;
}

export interface LogEntry {
  time: Date;
  level: LogLevel;
  message: string;
  fields?: LogFields;
}

/**
 * Where log lines go. `line` is the bare message; `entry` is there for every logger line (a
 * sink formats it) and absent for text to print as it is (usage errors). A sink must not throw.
 */
export type LogSink = (level: LogLevel, line: string, entry?: LogEntry) => void;

/** A sink that owns a file or socket; close() releases it (later lines are dropped). */
export type ClosableSink = LogSink & { close(): void };

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** True when debug lines are written (`-v`); callers skip building costly messages otherwise. */
  readonly verbose: boolean;
}

export interface TextSinkOptions {
  /** `text` (default): `TIME MESSAGE`; `json`: one object per line. */
  format?: LogFormat;
}

/**
 * A sink writing each line to stderr, timestamped (not when stderr is the systemd journal,
 * which stamps lines itself). Info and debug lines are written in batches (batched-writer.ts:
 * at most 20 ms late); a warning, an error or bare text is written at once, after them. A broken
 * stderr (EPIPE) never crashes the proxy.
 */
export function stderrSink(options: TextSinkOptions = {}): LogSink {
  const format = options.format ?? 'text';
  const withTime = format === 'json' || !stderrCarriesTime();
  let broken = false;
  process.stderr.on('error', () => {
    broken = true;
  });
  const out = batchedWriter((text) => {
    if (!broken) process.stderr.write(text);
  });
  return (level, line, entry) => {
    out.add((entry ? formatEntry(entry, format, withTime) : line) + '\n');
    if (!entry || level === 'warn' || level === 'error') out.flush();
  };
}

export function createLogger(options: { verbose?: boolean; sinks?: LogSink[] } = {}): Logger {
  const sinks = options.sinks ?? [stderrSink()];
  const verbose = options.verbose ?? false;
  const emit = (level: LogLevel, message: string, fields: LogFields | undefined): void => {
    const entry: LogEntry = fields
      ? { time: new Date(), level, message, fields }
      : { time: new Date(), level, message };
    for (const sink of sinks) sink(level, message, entry);
  };
  return {
    verbose,
    debug: (m, f) => {
      if (verbose) emit('debug', m, f);
    },
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
