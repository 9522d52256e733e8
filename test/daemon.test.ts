// -D/--daemon with the real CLI: the command returns once the daemon serves (exit 0, its PID
// printed), the daemon is a detached session leader with stdio on /dev/null, it is stopped by
// SIGTERM to its PID with whatever it wrapped, and start-up failures still reach the terminal
// with a non-zero status and leave nothing running.

import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exitStatus, runCli } from './helpers/cli.js';
import { tryConnect } from './helpers/clients.js';
import { childrenOf, isAlive, processesWithArgs, sessionOf } from './helpers/procfs.js';
import { eventually } from './helpers/wait.js';
import { defer } from './helpers/cleanup.js';
import { clientForTest, echoForTest, expectEcho, expectHello, wrapServerCommand } from './helpers/per-test.js';
import { unusedPort } from './helpers/targets.js';

async function waitUntilGone(pid: number, ms = 15000): Promise<void> {
  await eventually(
    () => !isAlive(pid),
    () => `pid ${pid} to end`,
    { ms },
  );
}

/** Stops a daemon by PID (SIGTERM, then SIGKILL) if it still runs. */
async function stopDaemon(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  try {
    await waitUntilGone(pid, 10000);
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}

/** Runs `websockify -D args`; expects exit 0; returns the daemon's PID and the relayed output. */
async function startDaemon(args: string[]): Promise<{ pid: number; stderr: string }> {
  const cli = runCli(['-D', ...args]);
  defer(() => cli.kill());
  const status = await exitStatus(cli, 15000);
  const m = /^websockify running in the background as PID (\d+)$/m.exec(cli.stderr());
  if (m) defer(() => stopDaemon(Number(m[1])));
  expect(status).toBe(0);
  expect(m).not.toBeNull();
  return { pid: Number(m![1]), stderr: cli.stderr() };
}

describe('-D/--daemon', () => {
  it('returns once the daemon serves; SIGTERM to its PID stops it', async () => {
    const { pid, stderr } = await startDaemon(['127.0.0.1:0', await echoForTest()]);
    expect(stderr).toContain(`  - Backgrounding (daemon, PID ${pid})`);
    const port = Number(/Listen on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    await expectEcho(await clientForTest(`ws://127.0.0.1:${port}/`), 'from the daemon \u0000');
    // Detached: its own session, no terminal; stdio on /dev/null; the start directory kept.
    expect(sessionOf(pid)).toBe(pid);
    for (const fd of [0, 1, 2]) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).toBe('/dev/null');
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe(process.cwd());
    process.kill(pid, 'SIGTERM');
    await waitUntilGone(pid);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
  });

  it('a port in use: the error on the terminal, status 1, no daemon left', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    defer(() => new Promise<void>((r) => blocker.close(() => r())));
    const listen = `127.0.0.1:${(blocker.address() as net.AddressInfo).port}`;
    const cli = runCli(['-D', listen, await echoForTest()]);
    defer(() => cli.kill());
    expect(await exitStatus(cli, 15000)).toBe(1);
    expect(cli.stderr()).toMatch(/^Opening socket failed: EADDRINUSE .*$/m);
    expect(cli.stderr()).not.toContain('running in the background');
    expect(processesWithArgs(['-D', listen])).toEqual([]);
  });

  it.each([
    ['a missing wrapped program', ['--', '/nonexistent/program'], 127, '/nonexistent/program: command not found'],
    ['a bad option value', ['--timeout', 'abc', '--', 'true'], 2, 'option --timeout: expected a number of seconds'],
  ])('%s: the error on the terminal and its status', async (_name, rest, status, message) => {
    const listen = `127.0.0.1:${await unusedPort()}`;
    const cli = runCli(['-D', listen, ...rest]);
    defer(() => cli.kill());
    expect(await exitStatus(cli, 15000)).toBe(status);
    expect(cli.stderr()).toContain(message);
    expect(processesWithArgs(['-D', listen])).toEqual([]);
  });

  it('with a wrapped program: started before the command returns, stopped with the daemon', async () => {
    const port = await unusedPort();
    const { pid, stderr } = await startDaemon([`127.0.0.1:${port}`, ...wrapServerCommand(port)]);
    expect(stderr).toMatch(/^Starting 'node .*wrap-server\.mjs 0\.0\.0\.0 \d+'$/m);
    const c = await clientForTest(`ws://127.0.0.1:${port}/`);
    const programPid = await expectHello(c);
    await expectEcho(c, 'wrapped in a daemon');
    expect(childrenOf(pid)).toContain(programPid);
    process.kill(pid, 'SIGTERM');
    await waitUntilGone(pid);
    await waitUntilGone(programPid);
  });

  it('with --unix-listen: the socket (0600) exists when the command returns and is removed at SIGTERM', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-daemon-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'ws.sock');
    const { pid } = await startDaemon(['--unix-listen', sock, await echoForTest()]);
    expect(statSync(sock).mode & 0o7777).toBe(0o600);
    await expectEcho(await clientForTest(`ws+unix://${sock}:/`), 'unix daemon');
    process.kill(pid, 'SIGTERM');
    await waitUntilGone(pid);
    expect(existsSync(sock)).toBe(false);
  });
});
