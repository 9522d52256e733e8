// A tested scale-out: a real HAProxy (the configuration of docs/scale-out.md) in front of two
// websockify processes that share a real redis-server through TokenRedis, with HAProxy's health
// checks on /healthz and send-proxy-v2. It shows that a token written to Redis routes through
// either instance; that their logs name the real client (127.0.0.1 and the client's own source
// port); that after kill -9 of one, once HAProxy has marked it down, every new connection goes
// to the survivor without a failed upgrade; and that SIGTERM with --drain-seconds takes an
// instance out of rotation while its open session runs on until the drain time, then 1001.

import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { defer } from './helpers/cleanup.js';
import { openClient, type OpenClient } from './helpers/clients.js';
import { withTimeout } from './helpers/wait.js';
import { startHaproxy, type Haproxy } from './helpers/haproxy.js';
import { echoForTest, expectEcho } from './helpers/per-test.js';
import { exitStatus, startCliForTest, type CliProcess } from './helpers/cli.js';
import { seed, startRedis } from './helpers/redis.js';
import { unusedPort } from './helpers/targets.js';

const DRAIN_SECONDS = 8;

/** The HAProxy configuration docs/scale-out.md shows, with the test's ports. */
function haproxyConfig(front: number, servers: Record<string, number>): string {
  return [
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout check 1s',
    'frontend websockify',
    `  bind 127.0.0.1:${front}`,
    '  default_backend websockify',
    'backend websockify',
    '  balance roundrobin',
    '  option httpchk GET /healthz',
    '  http-check expect status 200',
    '  default-server check inter 200ms fall 2 rise 1 send-proxy-v2',
    ...Object.entries(servers).map(([name, port]) => `  server ${name} 127.0.0.1:${port}`),
    '',
  ].join('\n');
}

interface Instance {
  name: string;
  cli: CliProcess & { port: number };
}

describe('HAProxy in front of two websockify instances sharing Redis', () => {
  it('routes a Redis token through either, logs the real client, survives kill -9, drains on SIGTERM', async () => {
    const redisPort = await unusedPort();
    await startRedis(redisPort);
    await seed(redisPort, { vm1: await echoForTest() });
    const instanceArgs = (listen: string): string[] => [
      '--proxy-protocol',
      '--trusted-proxy',
      '127.0.0.1/32',
      '--token-plugin',
      'TokenRedis',
      '--token-source',
      `127.0.0.1:${redisPort}`,
      '--drain-seconds',
      String(DRAIN_SECONDS),
      listen,
    ];
    const start = async (name: string, listen = '127.0.0.1:0'): Promise<Instance> => ({
      name,
      cli: await startCliForTest(instanceArgs(listen)),
    });
    let a = await start('a');
    const b = await start('b');
    const front = await unusedPort();
    const haproxy: Haproxy = await startHaproxy(haproxyConfig(front, { a: a.cli.port, b: b.cli.port }));
    await haproxy.waitForStatus('websockify', 'a', 'UP');
    await haproxy.waitForStatus('websockify', 'b', 'UP');

    /** A client through HAProxy on a socket of our own, so its source port is known. */
    const connect = async (): Promise<{ c: OpenClient; port: number }> => {
      const socket = net.connect(front, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      const c = await openClient(`ws://127.0.0.1:${front}/websockify?token=vm1`, undefined, 5000, {
        createConnection: () => socket,
      });
      defer(() => c.ws.terminate());
      return { c, port: socket.localPort! };
    };
    /** Closes a client and waits until it is closed. */
    const done = async (c: OpenClient): Promise<void> => {
      c.ws.close(1000);
      await withTimeout(c.closed, 5000, 'client close');
    };
    /** Which instance logged the session of the client on source port `port` (waits for the line). */
    const servedBy = async (port: number, among: Instance[]): Promise<Instance> => {
      const line = new RegExp(`^\\d+: 127\\.0\\.0\\.1:${port}: WebSocket connection on /websockify\\?token=vm1`, 'm');
      await Promise.any(among.map((i) => i.cli.waitForStderr(line)));
      const found = among.filter((i) => line.test(i.cli.stderr()));
      expect(found).toHaveLength(1);
      return found[0]!;
    };

    // Either instance: round robin over both, each client echoing byte-exact.
    const served: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { c, port } = await connect();
      await expectEcho(c, `client ${i} through haproxy`);
      served.push((await servedBy(port, [a, b])).name);
      await done(c);
    }
    expect(new Set(served)).toEqual(new Set(['a', 'b']));

    // kill -9 of a: once HAProxy marks it down, every new connection reaches b.
    a.cli.child.kill('SIGKILL');
    await exitStatus(a.cli, 10000);
    await haproxy.waitForStatus('websockify', 'a', 'DOWN');
    for (let i = 0; i < 6; i++) {
      const { c, port } = await connect(); // a failed upgrade would reject here
      await expectEcho(c, `after the kill ${i}`);
      expect((await servedBy(port, [b])).name).toBe('b');
      await done(c);
    }

    // a comes back on its port; HAProxy puts it back in rotation.
    a = await start('a2', `127.0.0.1:${a.cli.port}`);
    await haproxy.waitForStatus('websockify', 'a', 'UP');

    // A session on b, then SIGTERM b: out of rotation at once, the session runs on.
    let onB: OpenClient | undefined;
    for (let i = 0; i < 4 && !onB; i++) {
      const { c, port } = await connect();
      if ((await servedBy(port, [a, b])).name === 'b') onB = c;
      else await done(c);
    }
    expect(onB).toBeDefined();
    const sigterm = Date.now();
    b.cli.child.kill('SIGTERM');
    await haproxy.waitForStatus('websockify', 'b', 'DOWN');
    for (let i = 0; i < 4; i++) {
      const { c, port } = await connect();
      await expectEcho(c, `while b drains ${i}`);
      expect((await servedBy(port, [a, b])).name).toBe('a2');
      await done(c);
    }
    await expectEcho(onB!, 'b still serves its open session');
    const closed = await withTimeout(onB!.closed, (DRAIN_SECONDS + 10) * 1000, 'the drained session to close');
    expect(closed.code).toBe(1001);
    expect(Date.now() - sigterm).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000 - 100);
    expect(await exitStatus(b.cli, 15000)).toBe(0);
    expect(b.cli.stderr()).toMatch(/Drain time up: closing 1 open with 1001/);
  });
});
