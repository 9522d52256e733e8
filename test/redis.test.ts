// TokenRedis against a real redis-server started by the test on a free loopback port: plain
// and JSON values, a namespace, the source syntax with quoting, and Redis restarted mid-run
// (lookups fail fast with 502 during the outage and work again afterwards, on the same plugin).

import { describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { loadTokenPlugin } from '../src/index.js';
import { parseRedisSource, splitSourceFields } from '../src/targets/plugins/redis-token.js';
import { defer } from './helpers/cleanup.js';
import { openClient, withTimeout } from './helpers/clients.js';
import { attemptUpgrade, recordingLogger, tokenProxy } from './helpers/plugins.js';
import { CliTracker } from './helpers/process.js';
import { echoTarget, unusedPort } from './helpers/targets.js';

const REDIS = '/usr/bin/redis-server';

/** Starts redis-server on `port` and resolves once it accepts connections; stopped after the test. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', () => reject(new Error(`redis-server exited: ${out}`)));
    }),
    15000,
    'redis-server start',
  );
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

async function seed(port: number, values: Record<string, string>, db = 0): Promise<void> {
  const client = new Redis({ host: '127.0.0.1', port, db, lazyConnect: true });
  await client.connect();
  for (const [k, v] of Object.entries(values)) await client.set(k, v);
  client.disconnect();
}

describe('TokenRedis source syntax', () => {
  it.each([
    ['redis', ['redis']],
    ['redis:6380', ['redis', '6380']],
    ['redis::1', ['redis', '', '1']],
    ['redis:6380:1:secret:ns', ['redis', '6380', '1', 'secret', 'ns']],
    ['myredis::::"ns1:ns2"', ['myredis', '', '', '', 'ns1:ns2']],
    ['h:6379:0:"pa:ss":ns', ['h', '6379', '0', 'pa:ss', 'ns']],
    ['"h"', ['h']],
    ['h:"unclosed', ['h', '"unclosed']],
    ['h:""', ['h', '""']],
  ])('%s', (source, fields) => {
    expect(splitSourceFields(source)).toEqual(fields);
  });

  it('applies the defaults and refuses bad numbers and extra fields', () => {
    expect(parseRedisSource('r')).toEqual({ host: 'r', port: 6379, db: 0, password: undefined, namespace: undefined });
    expect(parseRedisSource(':6380::pw')).toEqual({
      host: 'localhost',
      port: 6380,
      db: 0,
      password: 'pw',
      namespace: undefined,
    });
    expect(() => parseRedisSource('r:port')).toThrow("TokenRedis: port 'port' is not a number");
    expect(() => parseRedisSource('r:1:x')).toThrow("TokenRedis: database number 'x' is not a number");
    expect(() => parseRedisSource('a:1:2:3:4:5')).toThrow(/more than 5 fields/);
    expect(() => parseRedisSource(undefined)).toThrow(/TokenRedis needs tokenSource/);
  });
});

describe('TokenRedis with a real redis-server', () => {
  it('plain and JSON values, a namespace and a database number', async () => {
    const port = await unusedPort();
    await startRedis(port);
    await seed(port, { plain: '10.0.0.1:5901', json: ' {"host": "10.0.0.2:5902"} ', 'ns:t': 'h:3', bad: 'nonsense' });
    await seed(port, { indb2: '[::1]:5904' }, 2);
    const logger = recordingLogger();
    const open = async (source: string) => {
      const plugin = await loadTokenPlugin('TokenRedis', source, { logger });
      defer(() => plugin.close?.());
      return plugin;
    };
    const plain = await open(`127.0.0.1:${port}`);
    const spaced = await open(`127.0.0.1:${port}:::"ns"`);
    const db2 = await open(`127.0.0.1:${port}:2`);
    expect(await plain.lookup('plain')).toEqual({ kind: 'tcp', host: '10.0.0.1', port: 5901 });
    expect(await plain.lookup('json')).toEqual({ kind: 'tcp', host: '10.0.0.2', port: 5902 });
    expect(await plain.lookup('missing')).toBeUndefined();
    expect(await plain.lookup('bad')).toBeUndefined();
    expect(await spaced.lookup('t')).toEqual({ kind: 'tcp', host: 'h', port: 3 });
    expect(await spaced.lookup('plain')).toBeUndefined();
    expect(await db2.lookup('indb2')).toEqual({ kind: 'tcp', host: '::1', port: 5904 });
    expect(logger.lines).toContain('TokenRedis: value of key "bad" is not a target');
  });

  it('Redis restarted mid-run: 502 at once during the outage, proxying again after, one connection', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const port = await unusedPort();
    let redis = await startRedis(port);
    await seed(port, { vm: `127.0.0.1:${echo.port}` });
    const logger = recordingLogger();
    const plugin = await loadTokenPlugin('TokenRedis', `127.0.0.1:${port}`, { logger });
    defer(() => plugin.close?.());
    const proxy = await tokenProxy(plugin);
    const first = await openClient(`${proxy.url}/?token=vm`);
    first.ws.close();

    await stopRedis(redis);
    const during = await withTimeout(attemptUpgrade(proxy.port, '/?token=vm'), 4000, 'lookup during the outage');
    expect([during.status, during.body]).toEqual([502, 'Token lookup failed\n']);
    expect(proxy.logger.lines.join('\n')).toMatch(
      /502 Token 'vm': lookup failed: TokenRedis: redis at 127\.0\.0\.1:\d+ unreachable: /,
    );

    redis = await startRedis(port);
    await seed(port, { vm: `127.0.0.1:${echo.port}` }); // --save '': the restarted server is empty
    let status = 0;
    const deadline = Date.now() + 15000;
    while (status !== 101 && Date.now() < deadline) {
      try {
        const client = await openClient(`${proxy.url}/?token=vm`);
        client.ws.send(Buffer.from('back'));
        expect((await client.waitForBytes(4)).toString()).toBe('back');
        client.ws.close();
        status = 101;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(status).toBe(101);
    expect(logger.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/unreachable: connection lost; lookups answer 502 until it is back$/),
        expect.stringMatching(/connected again$/),
      ]),
    );
    const clients = await new Promise<string>((resolve) => {
      const c = new Redis({ host: '127.0.0.1', port });
      void c.client('LIST').then((list) => {
        c.disconnect();
        resolve(String(list));
      });
    });
    // The plugin's one shared connection plus the CLIENT LIST caller; never one per lookup.
    expect(clients.trim().split('\n').length).toBe(2);
  });

  it('Redis down at start (the CLI): listens, answers 502 with one clear log line, proxies once Redis is up', async () => {
    const clis = new CliTracker();
    defer(() => clis.killAll());
    const echo = await echoTarget();
    defer(() => echo.close());
    const port = await unusedPort(); // nothing listens there yet
    const cli = await clis.start([
      '--token-plugin',
      'TokenRedis',
      '--token-source',
      `127.0.0.1:${port}`,
      '127.0.0.1:0',
    ]);
    for (let i = 0; i < 3; i++) {
      const r = await withTimeout(attemptUpgrade(cli.port, '/?token=vm'), 4000, 'lookup while Redis is down');
      expect([r.status, r.body]).toEqual([502, 'Token lookup failed\n']);
    }
    const unreachable = `TokenRedis: redis at 127.0.0.1:${port} unreachable: ECONNREFUSED`;
    await cli.waitForStderr(new RegExp(`lookup failed: ${unreachable}\n`));
    const lines = cli.stderr().split('\n');
    expect(lines.filter((l) => l.startsWith(unreachable))).toEqual([
      `${unreachable}; lookups answer 502 until it is back`,
    ]);
    expect(cli.stderr()).not.toMatch(/Stream isn't writeable|enableOfflineQueue/);

    await startRedis(port);
    await seed(port, { vm: `127.0.0.1:${echo.port}` });
    await cli.waitForStderr(/TokenRedis: redis at 127\.0\.0\.1:\d+: connected again\n/, 15000);
    const client = await openClient(`ws://127.0.0.1:${cli.port}/?token=vm`);
    client.ws.send(Buffer.from('up'));
    expect((await client.waitForBytes(2)).toString()).toBe('up');
    client.ws.close();
  });
});
