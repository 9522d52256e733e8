// `--workers N` on the real command: the primary holds the port and hands connections to N
// worker processes, numbered across all of them; a worker killed with SIGKILL takes only its own
// clients (1006) while a session on another worker keeps echoing byte-exact, and it is replaced;
// SIGTERM closes the clients of every worker with 1001 and exits 0; SIGHUP reaches every worker;
// a worker that cannot start ends start-up with its status; the connection-limit places of a
// killed worker are given back; bad values of --workers exit 2.
// (The suites for TLS, tokens, auth, --web, --record, unix sockets, inetd, systemd and the
// lifetime rules run their command-line tests with --workers 2 as well.)

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { pattern } from './helpers/bytes.js';
import { defer } from './helpers/cleanup.js';
import { BIN, cliForTest, exitStatus, startCliForTest } from './helpers/cli.js';
import { openClient, tryConnect, type OpenClient } from './helpers/clients.js';
import { clientForTest as client, echoForTest, expectHello, wrapServerCommand } from './helpers/per-test.js';
import { childrenOf, isAlive } from './helpers/procfs.js';
import { unusedPort } from './helpers/targets.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { handedTo, workerPids } from './helpers/workers.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-workers-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Sends `bytes` in 64 KiB messages and checks exactly they come back after what came before. */
async function echoesExactly(c: OpenClient, bytes: Buffer): Promise<void> {
  const before = c.bytes().length;
  for (let at = 0; at < bytes.length; at += 65536) c.ws.send(bytes.subarray(at, at + 65536));
  const all = await c.waitForBytes(before + bytes.length, 20000);
  expect(all.subarray(before).equals(bytes)).toBe(true);
}

/**
 * Keeps a transfer running: a new 64 KiB piece of the pattern goes out whenever the echo has
 * caught up to within 512 KiB, until the socket closes.
 */
function pump(c: OpenClient): { sent(): number } {
  let sent = 0;
  const top = (): void => {
    while (c.ws.readyState === WebSocket.OPEN && sent - c.bytes().length < 512 * 1024) {
      c.ws.send(pattern(sent, 65536));
      sent += 65536;
    }
  };
  c.ws.on('message', top);
  top();
  return { sent: () => sent };
}

/** Waits until worker PIDs of `pid` are `count` in number. */
async function workersOf(pid: number, count: number): Promise<number[]> {
  await eventually(() => workerPids(pid).length === count, `${count} workers of ${pid}`, { ms: 10000 });
  return workerPids(pid);
}

describe('--workers 2', () => {
  /** The young-generation flags a process was started with, in order (the last one counts). */
  const semiSpaceFlags = (pid: number): string[] =>
    readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a.startsWith('--max-semi-space-size'));

  it.each([
    [
      'node --max-semi-space-size=4 (as the launcher starts it)',
      ['--max-semi-space-size=4', '--max-semi-space-size=2'],
      ['--max-semi-space-size=4'],
      {},
    ],
    ['NODE_OPTIONS=--max-semi-space-size=8', [], [], { NODE_OPTIONS: '--max-semi-space-size=8' }],
  ])('%s: the workers start with %p', async (_label, workerFlags, nodeFlags, env) => {
    const target = await echoForTest();
    const cli = cliForTest(
      ['--workers', '2', '127.0.0.1:0', target],
      { ...process.env, ...env },
      {
        via: [process.execPath, ...nodeFlags, BIN],
      },
    );
    await cli.waitForStderr(/ - 2 worker processes/);
    for (const pid of await workersOf(cli.child.pid!, 2)) expect(semiSpaceFlags(pid)).toEqual(workerFlags);
  });

  it('hands connections to both workers, numbered across them, with byte-exact echoes', async () => {
    const target = await echoForTest();
    const cli = await startCliForTest(['-v', '--workers', '2', '127.0.0.1:0', target]);
    expect(cli.stderr()).toContain('\n  - 2 worker processes (--workers)\n');
    const pids = await workersOf(cli.child.pid!, 2);
    const url = `ws://127.0.0.1:${cli.port}`;
    const all = await Promise.all([1, 2, 3, 4].map((i) => client(`${url}/c${i}`)));
    await Promise.all(all.map((c, i) => echoesExactly(c, pattern(i * 1024 * 1024, 256 * 1024))));

    // Each worker's lines reach the primary's stderr on their own: 4's may come before 3's.
    for (const id of [1, 2, 3, 4])
      await cli.waitForStderr(new RegExp(`^${id}: 127\\.0\\.0\\.1: WebSocket connection on`, 'm'));
    const handed = handedTo(cli.stderr());
    expect([...handed.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(new Set(handed.values())).toEqual(new Set(pids));
    const opened = [...cli.stderr().matchAll(/^(\d+): 127\.0\.0\.1: WebSocket connection on \/c\d/gm)].map((m) => m[1]);
    expect(opened.sort()).toEqual(['1', '2', '3', '4']);
  });

  it('a worker killed with SIGKILL mid-transfer: its client sees 1006, the other worker keeps echoing byte-exact, and it is replaced', async () => {
    const target = await echoForTest();
    const cli = await startCliForTest(['-v', '--workers', '2', '127.0.0.1:0', target]);
    await workersOf(cli.child.pid!, 2);
    const url = `ws://127.0.0.1:${cli.port}`;
    // The second client goes to the worker without a connection: one session on each.
    const doomed = await client(`${url}/doomed`);
    const survivor = await client(`${url}/survivor`);
    await cli.waitForStderr(/^2: 127\.0\.0\.1: to worker/m);
    const handed = handedTo(cli.stderr());
    const victim = handed.get(1)!;
    expect(handed.get(2)).not.toBe(victim);

    const closed = doomed.closed;
    pump(doomed);
    const steady = pump(survivor);
    await doomed.waitForBytes(1024 * 1024, 20000);
    await survivor.waitForBytes(1024 * 1024, 20000);
    process.kill(victim, 'SIGKILL');
    expect((await withTimeout(closed, 10000, 'close of the doomed client')).code).toBe(1006);

    // The other session goes on: 4 MiB more after the kill, every byte in place.
    const atKill = survivor.bytes().length;
    await survivor.waitForBytes(atKill + 4 * 1024 * 1024, 30000);
    const got = survivor.bytes();
    const whole = got.length - (got.length % 4);
    expect(got.subarray(0, whole).equals(pattern(0, whole))).toBe(true);
    expect(steady.sent()).toBeGreaterThan(atKill);

    await cli.waitForStderr(
      new RegExp(
        `worker \\d \\(pid ${victim}\\) was killed by SIGKILL; its 1 connection\\(s\\) and 1 session\\(s\\) are lost; starting a new one`,
      ),
    );
    const now = await workersOf(cli.child.pid!, 2);
    expect(now).not.toContain(victim);
    // New clients are served (by either worker), and the survivor is still byte-exact.
    const fresh = await client(`${url}/fresh`);
    await echoesExactly(fresh, pattern(0, 128 * 1024));
    expect(survivor.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('SIGTERM closes the clients of every worker with 1001 and exits 0; no worker outlives it', async () => {
    const target = await echoForTest();
    const cli = await startCliForTest(['-v', '--workers', '2', '127.0.0.1:0', target]);
    const pids = await workersOf(cli.child.pid!, 2);
    const url = `ws://127.0.0.1:${cli.port}`;
    const a = await client(`${url}/a`);
    const b = await client(`${url}/b`);
    await echoesExactly(a, pattern(0, 65536));
    await echoesExactly(b, pattern(0, 65536));
    // Info lines are written in batches: wait for the second hand-off line to be out.
    await cli.waitForStderr(/^2: 127\.0\.0\.1: to worker/m);
    expect(new Set(handedTo(cli.stderr()).values()).size).toBe(2);

    cli.child.kill('SIGTERM');
    const codes = await withTimeout(Promise.all([a.closed, b.closed]), 10000, 'both clients closed');
    expect(codes.map((c) => c.code)).toEqual([1001, 1001]);
    expect(await exitStatus(cli, 15000)).toBe(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    // Both workers' closing lines were written before the primary exited.
    expect(cli.stderr()).toMatch(/^1: 127\.0\.0\.1: closed \/a .* code 1001$/m);
    expect(cli.stderr()).toMatch(/^2: 127\.0\.0\.1: closed \/b .* code 1001$/m);
  });

  it('if the primary is killed with SIGKILL, the workers exit too (clients see 1006, as with one process)', async () => {
    const target = await echoForTest();
    const cli = await startCliForTest(['--workers', '2', '127.0.0.1:0', target]);
    const pids = await workersOf(cli.child.pid!, 2);
    const url = `ws://127.0.0.1:${cli.port}`;
    const [a, b] = await Promise.all([client(url), client(url)]);
    await echoesExactly(a, pattern(0, 4096));
    await echoesExactly(b, pattern(0, 4096));
    cli.child.kill('SIGKILL');
    const codes = await withTimeout(Promise.all([a.closed, b.closed]), 15000, 'both clients closed');
    expect(codes.map((c) => c.code)).toEqual([1006, 1006]);
    await eventually(() => pids.every((pid) => !isAlive(pid)), 'the workers to exit', { ms: 15000 });
    expect(await tryConnect(cli.port)).toBe('ECONNREFUSED');
  });

  it('SIGHUP reaches every worker: ReadOnlyTokenFile is read again in each', async () => {
    const target = await echoForTest();
    const tokens = path.join(dir, 'tokens.cfg');
    await writeFile(tokens, `old: ${target}\n`);
    const cli = await startCliForTest([
      '-v',
      '--workers',
      '2',
      '--token-plugin',
      'ReadOnlyTokenFile',
      '--token-source',
      tokens,
      '127.0.0.1:0',
    ]);
    const pids = await workersOf(cli.child.pid!, 2);
    const url = `ws://127.0.0.1:${cli.port}`;
    // One client on each worker: both read the file with its old token.
    const first = await Promise.all([client(`${url}/?token=old`), client(`${url}/?token=old`)]);
    await cli.waitForStderr(/^2: 127\.0\.0\.1: WebSocket connection on/m);

    await writeFile(tokens, `new: ${target}\n`);
    cli.child.kill('SIGHUP');
    // Each worker says when its reload is done (-v).
    await eventually(
      () => pids.every((pid) => cli.stderr().includes(`worker pid ${pid}: reloaded`)),
      'both workers reloaded',
      { ms: 10000 },
    );
    const second = await Promise.all([client(`${url}/?token=new`), client(`${url}/?token=new`)]);
    await cli.waitForStderr(/^4: 127\.0\.0\.1: WebSocket connection on/m);
    const handed = handedTo(cli.stderr());
    expect(new Set([handed.get(3), handed.get(4)])).toEqual(new Set(pids));
    for (const c of [...first, ...second]) await echoesExactly(c, Buffer.from('tokens'));
    await expect(openClient(`${url}/?token=old`)).rejects.toThrow('HTTP 404');
    await expect(openClient(`${url}/?token=old`)).rejects.toThrow('HTTP 404');
  });

  it("a wrapped program is the primary's: clients of both workers reach the one program; SIGTERM stops it", async () => {
    const port = await unusedPort();
    const cli = await startCliForTest(['-v', '--workers', '2', `127.0.0.1:${port}`, ...wrapServerCommand(port)]);
    const pids = await workersOf(cli.child.pid!, 2);
    const url = `ws://127.0.0.1:${cli.port}`;
    const [a, b] = await Promise.all([client(url), client(url)]);
    const programs = [await expectHello(a), await expectHello(b)];
    expect(programs[1]).toBe(programs[0]);
    expect(childrenOf(cli.child.pid!)).toContain(programs[0]);
    expect(pids).not.toContain(programs[0]);
    await cli.waitForStderr(/^2: 127\.0\.0\.1: to worker/m);
    expect(new Set(handedTo(cli.stderr()).values())).toEqual(new Set(pids));
    await echoesExactly(a, pattern(0, 65536));
    await echoesExactly(b, pattern(65536, 65536));

    cli.child.kill('SIGTERM');
    expect(await exitStatus(cli, 15000)).toBe(0);
    expect(isAlive(programs[0]!)).toBe(false);
  });

  it('a worker that cannot start ends start-up with its status and a single message', async () => {
    const cli = cliForTest([
      '--workers',
      '2',
      '--token-plugin',
      path.join(dir, 'no-such-plugin.js'),
      '--token-source',
      'x',
      '127.0.0.1:0',
    ]);
    expect(await exitStatus(cli, 15000)).toBe(2);
    const errors = cli.stderr().match(/^websockify: error: .*no-such-plugin\.js.*$/gm) ?? [];
    expect(errors).toHaveLength(1);
    expect(cli.stderr()).not.toContain('WebSocket server settings');
  });
});

describe('--workers values', () => {
  it('--max-connections: the places a killed worker held are free again', async () => {
    const target = await echoForTest();
    const cli = await startCliForTest(['-v', '--workers', '2', '--max-connections', '1', '127.0.0.1:0', target]);
    await workersOf(cli.child.pid!, 2);
    const url = `ws://127.0.0.1:${cli.port}`;
    const a = await client(url);
    await echoesExactly(a, Buffer.from('holds the one place'));
    await expect(openClient(url)).rejects.toThrow('HTTP 503');
    // Info lines are written in batches (up to 20 ms later): wait for the hand-off line.
    await cli.waitForStderr(/^1: 127\.0\.0\.1: to worker/m);
    const holder = handedTo(cli.stderr()).get(1)!;
    process.kill(holder, 'SIGKILL');
    expect((await withTimeout(a.closed, 15000, 'client of the killed worker')).code).toBe(1006);
    const b = await eventually(() => openClient(url).catch(() => undefined), 'a session after the worker died', {
      ms: 15000,
    });
    defer(() => b.ws.terminate());
    await echoesExactly(b, Buffer.from('the place was given back'));
  });

  it.each(['0', 'x', '1.5', '-1', '100000'])('--workers %s exits 2 naming the option', async (value) => {
    const cli = cliForTest(['--workers', value, '127.0.0.1:0', '127.0.0.1:5900']);
    expect(await exitStatus(cli, 10000)).toBe(2);
    expect(cli.stderr()).toContain(`option --workers: expected a number from 1 to 1024 or 'auto', got '${value}'`);
  });

  it('auto starts one worker per core (os.availableParallelism())', async () => {
    const target = await echoForTest();
    const cores = os.availableParallelism();
    const cli = await startCliForTest(['--workers', 'auto', '127.0.0.1:0', target]);
    if (cores > 1) expect(cli.stderr()).toContain(`\n  - ${cores} worker processes (--workers)\n`);
    await workersOf(cli.child.pid!, cores > 1 ? cores : 0);
    await echoesExactly(await client(`ws://127.0.0.1:${cli.port}`), pattern(0, 4096));
  });
});
