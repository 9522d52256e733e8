// Lifetime rules of the real `websockify` command (reference section 9): --run-once, --timeout
// (really stops accepting), --idle-timeout, --heartbeat (pings and dropping silent peers), and
// SIGTERM/SIGINT (1001 "Going away" to every client, targets ended, exit 0; a second signal
// exits at once with 128+N).

import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { defer } from './helpers/cleanup.js';
import { type CliProcess, exitStatus, isRunning, loggedAt, startCliForTest } from './helpers/cli.js';
import {
  openClient,
  type OpenClient,
  openWs,
  rawExchange,
  type TrackedWs,
  tryConnect,
  upgradeRequest,
} from './helpers/clients.js';
import { rawWebSocket, type RawWebSocket } from './helpers/raw-websocket.js';
import { hasAccepted } from './helpers/procfs.js';
import { eventually, sleep, withTimeout } from './helpers/wait.js';
import { echoTarget, type TestTarget } from './helpers/targets.js';
import { WORKER_MODES, workerPids } from './helpers/workers.js';

async function echo(): Promise<TestTarget> {
  const t = await echoTarget();
  defer(() => t.close());
  return t;
}

async function client(url: string): Promise<OpenClient> {
  const c = await openClient(url);
  defer(() => c.ws.terminate());
  return c;
}

async function tracked(url: string, options: Parameters<typeof openWs>[1] = {}): Promise<TrackedWs> {
  const c = await openWs(url, options);
  defer(() => c.ws.terminate());
  return c;
}

async function raw(port: number): Promise<RawWebSocket> {
  const r = await rawWebSocket(port);
  defer(() => r.destroy());
  return r;
}

/** A TCP connection that sends nothing, once the server has accepted it (holds its socket). */
async function silentConnection(cli: CliProcess & { port: number }): Promise<net.Socket> {
  const s = await withTimeout(
    new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect(cli.port, '127.0.0.1', () => resolve(c));
      c.on('error', reject);
    }),
    3000,
    'silent connection',
  );
  defer(() => s.destroy());
  // With --workers the socket goes on from the primary to a worker, which holds it from then on.
  const pid = cli.child.pid!;
  await eventually(
    () => [pid, ...workerPids(pid)].some((p) => hasAccepted(p, s.localPort!)),
    'the server to accept the silent connection',
  );
  return s;
}

/** Sends bytes and checks they come back (the session is alive end to end). */
async function echoes(c: OpenClient, text: string): Promise<void> {
  const before = c.bytes().length;
  c.ws.send(Buffer.from(text));
  const all = await c.waitForBytes(before + text.length);
  expect(all.subarray(before).toString()).toBe(text);
}

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('--run-once', () => {
    it('serves one WebSocket session and exits 0 when it ends; HTTP requests and failed upgrades do not count', async () => {
      const t = await echo();
      const cli = await startCliForTest([...workers, '--run-once', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
      const url = `ws://127.0.0.1:${cli.port}`;

      // A plain GET and a refused upgrade do not end the process.
      const get = await rawExchange(cli.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(get).toMatch(/^HTTP\/1\.1 405 /);
      const refused = await rawExchange(cli.port, upgradeRequest('/', ['Sec-WebSocket-Protocol: chat']));
      expect(refused).toMatch(/^HTTP\/1\.1 400 /);
      // An idle connection opened before the first upgrade must not get a second session later.
      const early = await silentConnection(cli);
      expect(isRunning(cli)).toBe(true);

      const a = await client(url);
      await echoes(a, 'first session');

      // A second WebSocket client while the first is open is refused: the port no longer accepts.
      await expect(openClient(url, undefined, 3000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(await tryConnect(cli.port)).toBe('ECONNREFUSED');
      // ...and the connection accepted earlier gets an HTTP error, not a second session.
      const earlyResponse = withTimeout(
        new Promise<string>((resolve) => {
          let data = '';
          early.on('data', (d) => (data += d.toString('latin1')));
          early.on('close', () => resolve(data));
        }),
        5000,
        'response on the early connection',
      );
      early.write(upgradeRequest('/second'));
      expect(await earlyResponse).toMatch(/^HTTP\/1\.1 503 /);
      await echoes(a, 'still the first');
      expect(t.connections).toHaveLength(1);
      expect(isRunning(cli)).toBe(true);

      a.ws.close(1000);
      expect(await withTimeout(a.closed, 5000, 'close')).toEqual({ code: 1000, reason: '' });
      expect(await exitStatus(cli, 15000)).toBe(0);
      expect(cli.stderr()).toMatch(/^\d+: 127\.0\.0\.1: exiting due to --run-once$/m);
    });

    it('exits 0 when the target ends the session', async () => {
      const t = await echo();
      const cli = await startCliForTest([...workers, '--run-once', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
      const a = await client(`ws://127.0.0.1:${cli.port}`);
      await echoes(a, 'x');
      for (const c of t.connections) c.end();
      expect(await withTimeout(a.closed, 5000, 'close')).toEqual({ code: 1000, reason: 'Target closed' });
      expect(await exitStatus(cli, 15000)).toBe(0);
    });
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('--timeout', () => {
    it('stops accepting after N s (connect is refused) while an open session keeps working, then exits 0 when it closes', async () => {
      const t = await echo();
      const cli = await startCliForTest([...workers, '--timeout', '1', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
      const a = await client(`ws://127.0.0.1:${cli.port}`);
      await echoes(a, 'before');
      await cli.waitForStderr(/^listener exit due to --timeout 1$/m, 15000);
      // On the process's own clock (its log times): not before N s after it started listening.
      expect(
        loggedAt(cli, /^listener exit due to --timeout/) - loggedAt(cli, /^ {2}- Listen on /),
      ).toBeGreaterThanOrEqual(800);
      // Really not accepting any more: the port refuses TCP connections. The line is logged just
      // before the listener is closed, so a loaded machine may run a connect in between: wait.
      await eventually(async () => (await tryConnect(cli.port)) === 'ECONNREFUSED', 'the port to refuse connections');
      await expect(openClient(`ws://127.0.0.1:${cli.port}`, undefined, 3000)).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
      // The open session still works: the process is still there, serving it.
      await echoes(a, 'after the timeout');
      expect(isRunning(cli)).toBe(true);
      a.ws.close();
      await withTimeout(a.closed, 5000, 'close');
      expect(await exitStatus(cli, 15000)).toBe(0);
    });

    it('with no sessions, exits 0 about N s after start', async () => {
      const t = await echo();
      const cli = await startCliForTest([...workers, '--timeout', '1', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
      expect(await exitStatus(cli, 15000)).toBe(0);
      expect(cli.stderr()).toMatch(/^listener exit due to --timeout 1$/m);
      expect(
        loggedAt(cli, /^listener exit due to --timeout/) - loggedAt(cli, /^ {2}- Listen on /),
      ).toBeGreaterThanOrEqual(800);
    });
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('--idle-timeout', () => {
    it('exits 0 about N s after start when nobody connects', async () => {
      const t = await echo();
      const cli = await startCliForTest([...workers, '--idle-timeout', '1', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
      expect(await exitStatus(cli, 15000)).toBe(0);
      expect(cli.stderr()).toMatch(/^listener exit due to --idle-timeout 1$/m);
      const idle = loggedAt(cli, /^listener exit due to --idle-timeout/) - loggedAt(cli, /^ {2}- Listen on /);
      expect(idle).toBeGreaterThanOrEqual(800);
    });

    it('does not exit while a connection is open, and exits about N s after it closes', async () => {
      const t = await echo();
      // The heartbeat's pings are the process's own clock: three of them (3 s) while the
      // connection is open are well past the 1 s idle timeout.
      const cli = await startCliForTest([
        ...workers,
        '--idle-timeout',
        '1',
        '--heartbeat',
        '1',
        '127.0.0.1:0',
        `127.0.0.1:${t.port}`,
      ]);
      const a = await tracked(`ws://127.0.0.1:${cli.port}`);
      await eventually(
        () => a.pings.length >= 3,
        () => `3 pings (have ${a.pings.length})`,
      );
      expect(isRunning(cli)).toBe(true);
      a.ws.close();
      await withTimeout(a.closed, 5000, 'close');
      expect(await exitStatus(cli, 15000)).toBe(0);
      expect(cli.stderr()).toMatch(/^listener exit due to --idle-timeout 1$/m);
      expect(
        loggedAt(cli, /^listener exit due to --idle-timeout/) - loggedAt(cli, /: closed \//),
      ).toBeGreaterThanOrEqual(700);
    });
  });
});

describe('--heartbeat', () => {
  it('pings every N s; a client answering no ping is dropped after two intervals, one that answers stays', async () => {
    const t = await echo();
    const cli = await startCliForTest(['--heartbeat', '1', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
    const url = `ws://127.0.0.1:${cli.port}`;
    const good = await tracked(url);
    const silentOpened = Date.now();
    const silent = await tracked(url, { autoPong: false });

    const dropped = await withTimeout(silent.closed, 20000, 'silent client dropped');
    // Pinged at ~1 s and ~2 s, no pong: dropped at the third tick (~3 s). No close frame. The
    // test's clock spans the server's (it started before the session and ended after the drop),
    // so it gives a lower bound that load cannot break; the ping count is the real measure.
    expect(dropped.code).toBe(1006);
    expect(Date.now() - silentOpened).toBeGreaterThanOrEqual(1800);
    expect(silent.pings.length).toBeGreaterThanOrEqual(2);
    expect(silent.pings.length).toBeLessThanOrEqual(3);

    // The answering client is still connected and keeps getting pings.
    await eventually(
      () => good.pings.length >= 4,
      () => `4 pings (have ${good.pings.length})`,
    );
    expect(good.ws.readyState).toBe(good.ws.OPEN);
    // ...and its session still carries data.
    const back = new Promise<Buffer>((resolve) => good.ws.once('message', (d: Buffer) => resolve(d)));
    good.ws.send(Buffer.from('alive'));
    expect((await withTimeout(back, 5000, 'echo')).toString()).toBe('alive');
    expect(t.connections).toHaveLength(2);
  });

  it('without --heartbeat no pings are sent', async () => {
    const t = await echo();
    const cli = await startCliForTest(['127.0.0.1:0', `127.0.0.1:${t.port}`]);
    const c = await tracked(`ws://127.0.0.1:${cli.port}`, { autoPong: false });
    // A negative check can only wait: 1.5 s is one and a half intervals of the shortest
    // heartbeat (1 s). Load can make it pass wrongly, never fail wrongly.
    await sleep(1500);
    expect(c.pings).toEqual([]);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('signals', () => {
    it.each([
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const)(
      '%s: every client gets 1001 "Going away", targets are ended, exit 0; a second signal exits at once (%i)',
      async (signal, again) => {
        const t = await echo();
        const cli = await startCliForTest([...workers, '127.0.0.1:0', `127.0.0.1:${t.port}`]);
        const url = `ws://127.0.0.1:${cli.port}`;
        const a = await client(url);
        const b = await client(url);
        await echoes(a, 'a');
        await echoes(b, 'b');
        expect(t.connections).toHaveLength(2);
        const targetEnds = t.connections.map((c) => new Promise<void>((r) => c.once('end', () => r())));

        cli.child.kill(signal);
        const closes = await withTimeout(Promise.all([a.closed, b.closed]), 5000, 'client closes');
        expect(closes).toEqual([
          { code: 1001, reason: 'Going away' },
          { code: 1001, reason: 'Going away' },
        ]);
        await withTimeout(Promise.all(targetEnds), 5000, 'target sockets ended');
        const status = await exitStatus(cli, 15000);
        expect({ status, stderr: cli.stderr() }).toEqual({
          status: 0,
          stderr: expect.stringContaining(`${signal} received: closing connections\n`),
        });

        // Second part: a client that never answers the close keeps the first shutdown waiting;
        // a second signal ends the process at once.
        const cli2 = await startCliForTest([...workers, '127.0.0.1:0', `127.0.0.1:${t.port}`]);
        const silent = await raw(cli2.port);
        expect(silent.status).toBe(101);
        cli2.child.kill(signal);
        const frame = await withTimeout(silent.closeFrame, 5000, 'close frame');
        expect(frame.code).toBe(1001);
        expect(frame.reason.toString()).toBe('Going away');
        await cli2.waitForStderr(new RegExp(`${signal} received: closing connections\n`));
        expect(isRunning(cli2)).toBe(true);
        cli2.child.kill(signal);
        // Exiting at once shows in the status: 128+N, where the graceful close would exit 0.
        expect(await exitStatus(cli2, 10000)).toBe(again);
        expect(cli2.stderr()).toContain(`${signal} again: exiting at once\n`);
      },
    );
  });
});

// A connection that has sent nothing (a browser's preconnect, a port scan) must not make
// SIGTERM/SIGINT wait: close() drops connections that have not upgraded.
describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('exit while a TCP connection is open but has sent nothing', () => {
    it('SIGTERM still exits 0 promptly', async () => {
      const t = await echo();
      const cli = await startCliForTest([...workers, '127.0.0.1:0', `127.0.0.1:${t.port}`]);
      await silentConnection(cli);
      cli.child.kill('SIGTERM');
      // Well under the 10 s handshake deadline that would otherwise end the silent connection.
      expect(await exitStatus(cli, 8000)).toBe(0);
    });

    it('--run-once still exits 0 when its session ends', async () => {
      const t = await echo();
      const cli = await startCliForTest([...workers, '--run-once', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
      await silentConnection(cli);
      const a = await client(`ws://127.0.0.1:${cli.port}`);
      await echoes(a, 'x');
      a.ws.close();
      await withTimeout(a.closed, 5000, 'close');
      expect(await exitStatus(cli, 15000)).toBe(0);
    });
  });
});
