// The logger: levelled, plain-text lines (the reference's `%(message)s` format) written to a
// set of sinks. stderr is the default sink; file-sink.ts (--log-file) and syslog-sink.ts
// (--syslog) add others.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where log lines go. A sink must not throw; failures are its own concern. */
export type LogSink = (level: LogLevel, line: string) => void;

/** A sink that owns a file or socket; close() releases it (later lines are dropped). */
export type ClosableSink = LogSink & { close(): void };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** True when debug lines are written (`-v`); callers skip building costly messages otherwise. */
  readonly verbose: boolean;
}

/** A sink writing each line to stderr. A broken stderr (EPIPE) never crashes the proxy. */
export function stderrSink(): LogSink {
  let broken = false;
  process.stderr.on('error', () => {
    broken = true;
  });
  return (_level, line) => {
    if (!broken) process.stderr.write(line + '\n');
  };
}

export function createLogger(options: { verbose?: boolean; sinks?: LogSink[] } = {}): Logger {
  const sinks = options.sinks ?? [stderrSink()];
  const verbose = options.verbose ?? false;
  const emit = (level: LogLevel, message: string): void => {
    for (const sink of sinks) sink(level, message);
  };
  return {
    verbose,
    debug: (m) => {
      if (verbose) emit('debug', m);
    },
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

/** A logger that drops everything: the library default when the caller passes none. */
export const silentLogger: Logger = {
  verbose: false,
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
