// The real CLI (bin/websockify, compiled dist/) in child processes: running it, reading its
// output, waiting for its banner or its exit. `cliForTest` and `startCliForTest` stop the
// process after the current test (defer), the one cleanup idiom of the suite.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defer } from './cleanup.js';
import { withTimeout } from './wait.js';

export const BIN = fileURLToPath(new URL('../../bin/websockify.js', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  /** stderr without the timestamps that start log lines (see untimed). */
  stderr(): string;
  /** stderr as written. */
  rawStderr(): string;
  /** Resolves with the exit code (or 128+signal) when the process ends. */
  exited: Promise<number>;
  /** Resolves when its stdout and stderr are closed too (their last data read). */
  closed: Promise<void>;
  /** Waits until stderr matches. */
  waitForStderr(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) if it is still running, and waits for it. */
  kill(): Promise<void>;
}

/** The ISO 8601 UTC time that starts each text log line. */
export const LOG_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /gm;

/** `text` without the time at the start of each log line, for tests about what lines say. */
export const untimed = (text: string): string => text.replace(LOG_TIME, '');

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs the CLI with `args`. `via` is the command line that runs it: node with bin/websockify.js
 * by default, another Node script that runs the CLI (`npm start`'s demo/start.js), or e.g. a
 * program that sets up fds and execs the sh launcher. `cwd` is its start directory (where a
 * default self.pem would be).
 */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  { via = [process.execPath, BIN], cwd }: { via?: string[]; cwd?: string } = {},
): CliProcess {
  const child = spawn(via[0]!, [...via.slice(1), ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const watchers: (() => void)[] = [];
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => {
    err += d;
    for (const w of [...watchers]) w();
  });
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0))),
  );
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    child,
    closed,
    stdout: () => out,
    stderr: () => untimed(err),
    rawStderr: () => err,
    exited,
    waitForStderr: (pattern, ms = 15000) =>
      withTimeout(
        new Promise<RegExpMatchArray>((resolve, reject) => {
          const check = (): void => {
            const m = untimed(err).match(pattern);
            if (m) {
              watchers.splice(watchers.indexOf(check), 1);
              resolve(m);
            }
          };
          watchers.push(check);
          check();
          void exited.then(() =>
            setImmediate(() => reject(new Error(`exited before ${pattern}; stderr:\n${untimed(err)}`))),
          );
        }),
        ms,
        `stderr ${pattern}; stderr so far:\n${err}`,
      ),
    kill: async () => {
      // Gracefully first, so a wrapped program is stopped by websockify itself.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The banner's last line ("  - proxying from ..."), which arrives after every other one. */
const BANNER_END = /^ {2}- proxying from .*\n/m;

/**
 * Starts the CLI and waits (up to `ms`) for its whole banner; `port` is the TCP port it listens
 * on (0 for a unix socket).
 */
export async function startCli(
  args: string[],
  { cwd, ms = 30000 }: { cwd?: string; ms?: number } = {},
): Promise<CliProcess & { port: number }> {
  const cli = runCli(args, process.env, cwd === undefined ? {} : { cwd });
  try {
    await cli.waitForStderr(BANNER_END, ms);
  } catch (err) {
    await cli.kill();
    throw err;
  }
  const m = /Listen on (?:\[[^\]]+\]|[^\s:]+):(\d+)/.exec(cli.stderr());
  return Object.assign(cli, { port: m ? Number(m[1]) : 0 });
}

/** runCli, with the process stopped after the current test. */
export function cliForTest(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  how: Parameters<typeof runCli>[2] = {},
): CliProcess {
  const cli = runCli(args, env, how);
  defer(() => withTimeout(cli.kill(), 10000, `kill pid ${cli.child.pid}`));
  return cli;
}

/** startCli, with the process stopped after the current test. */
export async function startCliForTest(
  args: string[],
  options: { cwd?: string; ms?: number } = {},
): Promise<CliProcess & { port: number }> {
  const cli = await startCli(args, options);
  defer(() => withTimeout(cli.kill(), 10000, `kill pid ${cli.child.pid}`));
  return cli;
}

/** Waits (bounded) for the process to exit and returns its status (128+N for signal N). */
export function exitStatus(cli: CliProcess, ms: number): Promise<number> {
  return withTimeout(cli.exited, ms, `exit of pid ${cli.child.pid}; stderr:\n${cli.stderr()}`);
}

/** True while the process has not exited. */
export function isRunning(cli: CliProcess): boolean {
  return cli.child.exitCode === null && cli.child.signalCode === null;
}

/** Runs the CLI to completion (it must exit by itself within `ms`). */
export async function runToExit(
  args: string[],
  ms = 30000,
): Promise<{ status: number; stdout: string; stderr: string }> {
  const cli = runCli(args);
  try {
    const status = await exitStatus(cli, ms);
    // 'exit' may come before the last output is read: wait (bounded) for the pipes to close.
    await withTimeout(cli.closed, 5000, `stdout and stderr of pid ${cli.child.pid} to close`).catch(() => {});
    return { status, stdout: cli.stdout(), stderr: cli.stderr() };
  } finally {
    await cli.kill();
  }
}

/**
 * When the process logged its first line matching `pattern`, in ms since the epoch, read from
 * the line's own time: durations between two log lines are measured on the process's clock,
 * not by when the test happened to read them.
 */
export function loggedAt(cli: CliProcess, pattern: RegExp): number {
  for (const line of cli.rawStderr().split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/.exec(line);
    if (m && pattern.test(m[2]!)) return Date.parse(m[1]!);
  }
  throw new Error(`no log line matching ${pattern}; stderr:\n${cli.stderr()}`);
}
