// The command's log sinks: stderr always, plus the log file and syslog when asked for. A
// destination that cannot be opened is a usage error naming its flag (exit status 2).

import { fileSink } from '../log/file-sink.js';
import { stderrSink, type LogSink } from '../log/logger.js';
import { syslogSink } from '../log/syslog-sink.js';
import { namingFlag, type LogDestinations } from './parse.js';

async function opened(flag: string, open: () => LogSink | Promise<LogSink>): Promise<LogSink> {
  try {
    return await open();
  } catch (err) {
    throw namingFlag(flag, err);
  }
}

export async function openLogSinks(destinations: LogDestinations): Promise<LogSink[]> {
  const sinks = [stderrSink()];
  const { logFile, syslog, legacySyslog } = destinations;
  if (logFile !== undefined) sinks.push(await opened('--log-file', () => fileSink(logFile)));
  if (syslog) {
    // The reference logs as facility daemon when it is one (-D); daemon mode is not built yet.
    sinks.push(await opened('--syslog', () => syslogSink({ destination: syslog, legacy: legacySyslog })));
  }
  return sinks;
}
