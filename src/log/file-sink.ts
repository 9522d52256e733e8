// The log-file sink (--log-file): every log line appended to a file, like the reference's
// FileHandler, timestamped (or JSON with --log-format json). The file is opened at start
// (created if missing, never truncated) and written synchronously, so the last lines before
// exit are never lost; log lines are few and short. reopen() (on SIGHUP) opens the path again,
// so a file that logrotate renamed is left alone and a new one begins.

import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { optionProblem } from '../errors/config-error.js';
import { formatEntry } from './log-format.js';
import type { ClosableSink, TextSinkOptions } from './logger.js';

export type ReopenableSink = ClosableSink & {
  /** Opens the path again; on failure keeps the old file and throws ConfigError. */
  reopen(): void;
};

function openLog(absolute: string): number {
  try {
    return openSync(absolute, 'a', 0o644);
  } catch (err) {
    throw optionProblem('logFile', `cannot open ${absolute}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

/**
 * Opens `file` (resolved against the current directory) for appending. Throws ConfigError
 * (option 'logFile') when it cannot be opened.
 */
export function fileSink(file: string, options: TextSinkOptions = {}): ReopenableSink {
  const absolute = path.resolve(file);
  const format = options.format ?? 'text';
  let fd: number | undefined = openLog(absolute);
  let failing = false;
  const sink = (_level: string, line: string, entry?: Parameters<ClosableSink>[2]): void => {
    if (fd === undefined) return;
    try {
      writeSync(fd, (entry ? formatEntry(entry, format) : line) + '\n');
      failing = false;
    } catch (err) {
      // A full disk must not stop the proxy; say so once per run of failures.
      if (!failing) process.stderr.write(`websockify: writing ${absolute}: ${(err as NodeJS.ErrnoException).code}\n`);
      failing = true;
    }
  };
  return Object.assign(sink, {
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
    reopen: () => {
      if (fd === undefined) return;
      const next = openLog(absolute);
      closeSync(fd);
      fd = next;
    },
  });
}
