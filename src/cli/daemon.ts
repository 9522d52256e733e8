// -D/--daemon. Node cannot fork, so the command starts itself again as a detached process (a new
// session; stdin, stdout and stderr on /dev/null; same arguments, environment and working
// directory) with an IPC channel to it, and waits. The daemon relays its start-up log lines over
// the channel (the banner, or the error), then reports that it is ready (listening, wrapped
// program started): the terminal command prints the daemon's PID and exits 0. If the daemon ends
// before that, the terminal command exits with its status. Then the channel is closed.

import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { formatEntry, type LogFormat } from '../log/log-format.js';
import type { LogLevel, LogSink } from '../log/logger.js';

/** Set in the daemon's environment (and removed from it at once) to tell it what it is. */
const DAEMON_VARIABLE = 'WEBSOCKIFY_DAEMON_CHILD';

type Report = { level: LogLevel; line: string } | { ready: true };

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * In the terminal command: starts the daemon with `args` and relays its start-up lines to
 * stderr. Resolves to 0 once it is ready, else to its exit status. A signal meanwhile stops it.
 */
export function startDaemon(args: string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [DAEMON_VARIABLE]: '1' },
  });
  return new Promise((resolve) => {
    let errorReported = false;
    let settled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      child.kill('SIGTERM');
      finish(128 + osConstants.signals[signal]);
    };
    const finish = (status: number): void => {
      settled = true;
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
      resolve(status);
    };
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    child.on('message', (report: Report) => {
      if ('line' in report) {
        process.stderr.write(`${report.line}\n`);
        if (report.level === 'error') errorReported = true;
        return;
      }
      process.stderr.write(`websockify running in the background as PID ${child.pid}\n`);
      child.disconnect();
      child.unref();
      finish(0);
    });
    child.once('error', (err) => {
      process.stderr.write(`websockify: cannot start the daemon: ${err.message}\n`);
      finish(1);
    });
    // 'close' comes after the channel is drained, so every relayed line has been printed.
    child.once('close', (code, signal) => {
      if (settled) return;
      const status = code ?? 128 + (signal ? osConstants.signals[signal] : 0);
      if (!errorReported) process.stderr.write(`websockify: the daemon ended during start-up (status ${status})\n`);
      finish(status);
    });
  });
}

/** The daemon's side of the channel. */
export interface DaemonChannel {
  /**
   * A log sink relaying lines (formatted as `format`, as stderr would show them) to the
   * terminal until the channel closes (then it drops them).
   */
  sink(format: LogFormat): LogSink;
  /** Start-up is done (ready, or failed with the lines already relayed): closes the channel. */
  close(ready: boolean): Promise<void>;
}

/** In the daemon: its channel to the terminal command; undefined when this process is not a daemon. */
export function daemonChannel(): DaemonChannel | undefined {
  if (process.env[DAEMON_VARIABLE] === undefined) return undefined;
  delete process.env[DAEMON_VARIABLE]; // not inherited by a wrapped program
  if (!process.send) return undefined;
  let last = Promise.resolve();
  let closed = false;
  const send = (report: Report): Promise<void> => {
    if (closed) return last;
    last = last.then(
      () =>
        new Promise<void>((resolve) => {
          if (!process.connected) resolve();
          else process.send!(report, undefined, undefined, () => resolve());
        }),
    );
    return last;
  };
  return {
    sink: (format) => (level, line, entry) => void send({ level, line: entry ? formatEntry(entry, format) : line }),
    close: async (ready) => {
      if (ready) void send({ ready: true });
      closed = true;
      await last;
      if (process.connected) process.disconnect();
    },
  };
}
