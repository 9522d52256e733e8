// A real HAProxy (Debian's /usr/sbin/haproxy) for the PROXY protocol and scale-out tests: runs
// in the foreground from a configuration written to a temporary directory, with an admin stats
// socket there; ready once the stats socket answers. Stopped by its PID after the test.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { defer } from './cleanup.js';
import { sleep, withTimeout } from './wait.js';

export const HAPROXY = '/usr/sbin/haproxy';

export interface Haproxy {
  pid: number;
  /** Sends one command to the stats socket and returns the answer. */
  command(text: string): Promise<string>;
  /** The status HAProxy gives `backend`/`server` (`UP`, `DOWN`, `MAINT`, `UP 1/2`...). */
  serverStatus(backend: string, server: string): Promise<string>;
  /** Waits (bounded) until that status starts with `status`. */
  waitForStatus(backend: string, server: string, status: string, ms?: number): Promise<void>;
  output(): string;
}

function ask(socketPath: string, text: string): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      let answer = '';
      const s = net.connect(socketPath, () => s.write(`${text}\n`));
      s.on('data', (d) => (answer += d));
      s.on('end', () => resolve(answer));
      s.on('error', reject);
    }),
    5000,
    `haproxy stats command ${text}`,
  );
}

/**
 * Starts HAProxy with the configuration `body`, after a global section holding only the stats
 * socket line (so `body` starts with `defaults`); resolves once the stats socket answers.
 */
export async function startHaproxy(body: string): Promise<Haproxy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-haproxy-'));
  const stats = path.join(dir, 'stats.sock');
  const config = path.join(dir, 'haproxy.cfg');
  writeFileSync(config, `global\n  stats socket ${stats} mode 600 level admin\n${body}`);
  const child = spawn(HAPROXY, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 10000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${out}`);
    try {
      if ((await ask(stats, 'show info')).includes('Name: HAProxy')) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`haproxy did not start within 10 s:\n${out}`);
    await sleep(50);
  }
  const serverStatus = async (backend: string, server: string): Promise<string> => {
    const csv = await ask(stats, 'show stat');
    const header = csv.split('\n')[0]!.replace(/^# /, '').split(',');
    const column = header.indexOf('status');
    for (const line of csv.split('\n')) {
      const fields = line.split(',');
      if (fields[0] === backend && fields[1] === server) return fields[column] ?? '';
    }
    throw new Error(`no server ${backend}/${server} in:\n${csv}`);
  };
  return {
    pid: child.pid!,
    command: (text) => ask(stats, text),
    serverStatus,
    waitForStatus: async (backend, server, status, ms = 15000) => {
      const until = Date.now() + ms;
      let last = '';
      while (Date.now() < until) {
        last = await serverStatus(backend, server);
        if (last.startsWith(status)) return;
        await sleep(50);
      }
      throw new Error(`${backend}/${server} still ${last} after ${ms} ms, not ${status}`);
    },
    output: () => out,
  };
}
