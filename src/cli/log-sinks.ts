// The command's log sinks: stderr always, plus the log file and syslog when asked for. A
// destination that cannot be opened is a usage error naming its flag (exit status 2). On
// SIGHUP, reopen() opens the log file again (logrotate).

import { fileSink, type ReopenableSink } from '../log/file-sink.js';
import type { LogSink } from '../log/logger.js';
import type { SyslogFacility } from '../log/syslog-format.js';
import { syslogSink } from '../log/syslog-sink.js';
import { namingFlag, type LogDestinations } from './parse.js';

async function opened(flag: string, open: () => LogSink | Promise<LogSink>): Promise<LogSink> {
  try {
    return await open();
  } catch (err) {
    throw namingFlag(flag, err);
  }
}

/**
 * `terminal` is stderr, or a daemon's channel to the command that started it; `facility` is
 * `daemon` under -D, as in the reference.
 */
export async function openLogSinks(
  destinations: LogDestinations,
  terminal: LogSink,
  facility: SyslogFacility,
): Promise<{ sinks: LogSink[]; reopen(): void }> {
  const sinks = [terminal];
  const { logFile, syslog, legacySyslog, format } = destinations;
  let file: ReopenableSink | undefined;
  if (logFile !== undefined) {
    file = (await opened('--log-file', () => fileSink(logFile, { format }))) as ReopenableSink;
    sinks.push(file);
  }
  if (syslog) {
    sinks.push(await opened('--syslog', () => syslogSink({ destination: syslog, legacy: legacySyslog, facility })));
  }
  return { sinks, reopen: () => file?.reopen() };
}
