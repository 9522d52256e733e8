// --max-connections and --max-connections-per-ip: upgrades over a limit get 503 with Retry-After
// and a 'refused' event with reason 'limit'; a place is given back when its connection closes;
// the per-address count uses the real client (a second loopback address, a trusted proxy's
// X-Forwarded-For); with --workers the primary keeps one count for every worker; bad values
// are refused.

import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { ConfigError, type RefusalEvent, type WebsockifyOptions } from '../src/index.js';
import { defer } from './helpers/cleanup.js';
import { upgradeRequest } from './helpers/clients.js';
import { eventually, sleep, withTimeout } from './helpers/wait.js';
import { WORKER_MODES } from './helpers/workers.js';
import { clientForTest, echoForTest, expectEcho } from './helpers/per-test.js';
import { parseAnswer, recordingLogger, type HttpAnswer } from './helpers/plugins.js';
import { cliForTest, exitStatus, startCliForTest } from './helpers/cli.js';
import { startProxy } from './helpers/proxy.js';

async function limited(options: Partial<WebsockifyOptions>) {
  const logger = recordingLogger();
  const p = await startProxy({ target: await echoForTest(), closeTimeout: 1, logger, ...options });
  const refused: RefusalEvent[] = [];
  p.server.on('refused', (e) => refused.push(e));
  defer(() => p.server.close());
  return { ...p, refused, logger };
}

/**
 * An upgrade from `localAddress` with extra headers: the answer's head; a 101's connection is
 * kept open (until the test ends) so that it keeps its place.
 */
function upgradeFrom(port: number, localAddress: string, extra: string[] = []): Promise<HttpAnswer> {
  return withTimeout(
    new Promise<HttpAnswer>((resolve, reject) => {
      let raw = '';
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => s.write(upgradeRequest('/', extra)));
      defer(() => s.destroy());
      s.on('data', (d) => {
        raw += d.toString('latin1');
        if (raw.startsWith('HTTP/1.1 101 ') && raw.includes('\r\n\r\n')) resolve(parseAnswer(raw));
      });
      s.on('close', () => resolve(parseAnswer(raw)));
      s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    }),
    5000,
    `upgrade from ${localAddress}`,
  );
}

describe('connection limits', () => {
  it('maxConnections: the next upgrade gets 503 with Retry-After; a closed session frees its place', async () => {
    const { port, url, refused, logger } = await limited({ maxConnections: 2 });
    const a = await clientForTest(url);
    const b = await clientForTest(url);
    const over = await upgradeFrom(port, '127.0.0.1');
    expect([over.status, over.headers['retry-after'], over.body]).toEqual([503, '5', 'Too many connections\n']);
    expect(refused).toEqual([{ reason: 'limit', status: 503, peer: '127.0.0.1' }]);
    expect(logger.lines).toContain('3: 127.0.0.1: refused upgrade: 503 2 connections open (the limit)');
    await expectEcho(a, 'a still works');
    b.ws.close();
    await b.closed;
    // The place comes back when the server sees the socket close: poll, bounded.
    const until = Date.now() + 5000;
    let status = 0;
    while (status !== 101 && Date.now() < until) {
      status = (await upgradeFrom(port, '127.0.0.1')).status;
      if (status !== 101) await sleep(20);
    }
    expect(status).toBe(101);
  });

  it('maxConnectionsPerIp counts each client address apart (127.0.0.2 is another client)', async () => {
    const { port, refused } = await limited({ maxConnectionsPerIp: 1 });
    expect((await upgradeFrom(port, '127.0.0.1')).status).toBe(101);
    const over = await upgradeFrom(port, '127.0.0.1');
    expect([over.status, over.headers['retry-after']]).toEqual([503, '5']);
    expect((await upgradeFrom(port, '127.0.0.2')).status).toBe(101);
    expect(refused).toEqual([{ reason: 'limit', status: 503, peer: '127.0.0.1' }]);
  });

  it('per address behind a trusted proxy: the forwarded client is counted, not the proxy', async () => {
    const { port, refused, logger } = await limited({ maxConnectionsPerIp: 1, trustedProxies: ['127.0.0.0/8'] });
    const xff = (client: string): string[] => [`X-Forwarded-For: ${client}`];
    expect((await upgradeFrom(port, '127.0.0.1', xff('198.51.100.1'))).status).toBe(101);
    expect((await upgradeFrom(port, '127.0.0.1', xff('198.51.100.2'))).status).toBe(101);
    expect((await upgradeFrom(port, '127.0.0.1', xff('198.51.100.1'))).status).toBe(503);
    expect(refused).toEqual([{ reason: 'limit', status: 503, peer: '198.51.100.1' }]);
    expect(logger.lines).toContain(
      '3: 198.51.100.1: refused upgrade: 503 1 connections open from 198.51.100.1 (the per-address limit)',
    );
  });

  it.each([
    [{ maxConnections: -1 }, 'maxConnections'],
    [{ maxConnections: 1.5 }, 'maxConnections'],
    [{ maxConnectionsPerIp: Number.NaN }, 'maxConnectionsPerIp'],
  ])('%j throws a ConfigError', async (options, name) => {
    await expect(startProxy({ target: '127.0.0.1:1', ...options })).rejects.toThrow(ConfigError);
    await expect(startProxy({ target: '127.0.0.1:1', ...options })).rejects.toThrow(name);
  });
});

describe.each(WORKER_MODES)('the CLI flags (%s)', (_mode, workers) => {
  it('--max-connections 2: one count over every worker; a place is free again when its client leaves', async () => {
    const cli = await startCliForTest([...workers, '--max-connections', '2', '127.0.0.1:0', await echoForTest()]);
    const url = `ws://127.0.0.1:${cli.port}/`;
    // With --workers 2 these two are on different workers (the least busy one gets each).
    const first = await clientForTest(url);
    const second = await clientForTest(url);
    await expectEcho(first, 'one');
    await expectEcho(second, 'two');
    const over = await upgradeFrom(cli.port, '127.0.0.1');
    expect(over.status).toBe(503);
    expect(over.headers['retry-after']).toBe('5');
    await cli.waitForStderr(/refused upgrade: 503 2 connections open \(the limit\)/);
    first.ws.close(1000);
    await withTimeout(first.closed, 5000, 'first client closed');
    // The place comes back when the server has seen the socket close.
    await eventually(async () => (await upgradeFrom(cli.port, '127.0.0.1')).status === 101, 'a place free again');
    await expectEcho(second, 'still two');
  });

  it('--max-connections-per-ip 1: a second client from the same address is refused, on any worker', async () => {
    const cli = await startCliForTest([
      ...workers,
      '--max-connections-per-ip',
      '1',
      '127.0.0.1:0',
      await echoForTest(),
    ]);
    const first = await clientForTest(`ws://127.0.0.1:${cli.port}/`);
    await expectEcho(first, 'one');
    expect((await upgradeFrom(cli.port, '127.0.0.1')).status).toBe(503);
    await cli.waitForStderr(/refused upgrade: 503 1 connections open from 127\.0\.0\.1 \(the per-address limit\)/);
    expect((await upgradeFrom(cli.port, '127.0.0.2')).status).toBe(101);
  });
});

describe('the CLI flags', () => {
  it.each([
    ['--max-connections', 'x'],
    ['--max-connections-per-ip', '-3'],
  ])('%s %s exits 2 naming the flag', async (flag, value) => {
    const cli = cliForTest([flag, value, '127.0.0.1:0', '127.0.0.1:5900']);
    expect(await exitStatus(cli, 10000)).toBe(2);
    expect(cli.stderr()).toContain(`option ${flag}`);
  });
});
