// The command's log sinks: stderr always, plus the log file and syslog when asked for. A
// destination that cannot be opened is a ConfigError about logFile or syslog (main.ts names the
// flag; exit status 2). On SIGHUP, reopen() opens the log file again (logrotate).

import { fileSink, type ReopenableSink } from '../log/file-sink.js';
import type { LogSink } from '../log/logger.js';
import type { SyslogFacility } from '../log/syslog-format.js';
import { syslogSink } from '../log/syslog-sink.js';
import type { LogDestinations } from './parse.js';

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
    file = fileSink(logFile, { format });
    sinks.push(file);
  }
  if (syslog) {
    sinks.push(await syslogSink({ destination: syslog, legacy: legacySyslog, facility }));
  }
  return { sinks, reopen: () => file?.reopen() };
}
