// Log lines of cluster workers travel to the primary, which writes them to its own sinks:
// stderr (or a daemon's terminal), --log-file and --syslog have one writer each, SIGHUP
// reopens the log file in one place, and syslog headers carry the primary's PID, as with one
// process. Lines are few (a handful per connection, none per frame), so the IPC cost is small.

import type { LogSink } from '../log/logger.js';
import type { FromWorker } from './messages.js';

/** A worker's sink: sends each line to the primary; drops it once the channel is gone. */
export function relaySink(send: (message: FromWorker) => void, connected: () => boolean): LogSink {
  return (level, line, entry) => {
    if (!connected()) return;
    const relayed: FromWorker = entry
      ? {
          type: 'websockify:log',
          level,
          line,
          entry: {
            time: entry.time.getTime(),
            level: entry.level,
            message: entry.message,
            ...(entry.fields ? { fields: entry.fields } : {}),
          },
        }
      : { type: 'websockify:log', level, line };
    send(relayed);
  };
}

/**
 * Writes a relayed line in the primary: an entry to every sink, bare text (a usage error) to
 * `terminal` only, as the worker's own terminal would have shown it.
 */
export function deliverRelayed(
  message: Extract<FromWorker, { type: 'websockify:log' }>,
  sinks: readonly LogSink[],
  terminal: LogSink,
): void {
  const { level, line, entry } = message;
  if (!entry) {
    terminal(level, line);
    return;
  }
  const restored = { ...entry, time: new Date(entry.time) };
  for (const sink of sinks) sink(level, line, restored);
}
