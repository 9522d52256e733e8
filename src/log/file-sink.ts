// The log-file sink (--log-file): every log line appended to a file, like the reference's
// FileHandler. The file is opened once (created if missing, never truncated) and written
// synchronously, so the last lines before exit are never lost; log lines are few and short.
// There is no reopening: like the reference, rotate with `copytruncate`.

import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { ClosableSink } from './logger.js';

/**
 * Opens `file` (resolved against the current directory) for appending. Throws ConfigError
 * (option 'logFile') when it cannot be opened.
 */
export function fileSink(file: string): ClosableSink {
  const absolute = path.resolve(file);
  let fd: number | undefined;
  try {
    fd = openSync(absolute, 'a', 0o644);
  } catch (err) {
    throw new ConfigError(`cannot open ${absolute}: ${(err as NodeJS.ErrnoException).code}`, 'logFile');
  }
  let failing = false;
  const sink = (_level: string, line: string): void => {
    if (fd === undefined) return;
    try {
      writeSync(fd, line + '\n');
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
  });
}
