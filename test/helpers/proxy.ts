// Starting the proxy under test: in-process through the library API, or as the real CLI
// (bin/websockify, compiled dist/) in a child process that is always killed afterwards.

import { spawn, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { startWebsockify, type WebsockifyOptions, type WebsockifyServer } from '../../src/index.js';
import { defer } from './cleanup.js';
import { withTimeout } from './clients.js';

export const BIN = fileURLToPath(new URL('../../bin/websockify.js', import.meta.url));

export async function startProxy(
  options: WebsockifyOptions,
): Promise<{ server: WebsockifyServer; url: string; port: number }> {
  const server = await startWebsockify({ listen: { host: '127.0.0.1', port: 0 }, ...options });
  const { port } = server.address() as net.AddressInfo;
  return { server, port, url: `ws://127.0.0.1:${port}` };
}

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
    waitForStderr: (pattern, ms = 5000) =>
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

/**
 * Starts the CLI and waits for its banner (bounded by 15 s: with --workers it comes once every
 * worker has started, which takes seconds on a busy machine); returns the port it listens on.
 */
export async function startCli(args: string[], cwd?: string): Promise<CliProcess & { port: number }> {
  const cli = runCli(args, process.env, cwd === undefined ? {} : { cwd });
  const m = await cli.waitForStderr(/Listen on (?:\[[^\]]+\]|[^\s:]+):(\d+)/, 15000);
  return Object.assign(cli, { port: Number(m[1]) });
}

/** startCli (in directory `cwd`), with the process stopped after the current test. */
export async function startCliForTest(args: string[], cwd?: string): Promise<CliProcess & { port: number }> {
  const cli = await startCli(args, cwd);
  defer(() => cli.kill());
  return cli;
}
