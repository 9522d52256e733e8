// GET and HEAD /healthz on the public port (with and without --web, over TLS, before
// --web-auth), with no log line per probe at the default level; and draining: the health check
// fails at once, new upgrades and requests get 503 (a 'refused' event), open sessions keep
// running until the drain time is up and are then closed with 1001, or the drain ends as soon
// as they have; the CLI's --drain-seconds on SIGTERM.

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createLogger, type RefusalEvent, type WebsockifyOptions } from '../src/index.js';
import { makeTestPki } from './helpers/certs.js';
import { defer } from './helpers/cleanup.js';
import { rawExchange } from './helpers/clients.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { WORKER_MODES } from './helpers/workers.js';
import { clientForTest, echoForTest, expectEcho } from './helpers/per-test.js';
import { attemptUpgrade, parseAnswer, recordingLogger } from './helpers/plugins.js';
import { cliForTest, exitStatus, startCliForTest } from './helpers/cli.js';
import { startProxy } from './helpers/proxy.js';

const get = (p: string, method = 'GET', extra = ''): string =>
  `${method} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`;

async function server(options: Partial<WebsockifyOptions> = {}) {
  const p = await startProxy({ target: await echoForTest(), closeTimeout: 1, ...options });
  const refused: RefusalEvent[] = [];
  p.server.on('refused', (e) => refused.push(e));
  defer(() => p.server.close());
  return { ...p, refused };
}

function tempWeb(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-health-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'healthz'), 'a file, shadowed\n');
  writeFileSync(path.join(dir, 'index.html'), '<p>hi</p>\n');
  return dir;
}

describe('/healthz', () => {
  it.each([
    ['without --web', false],
    ['with --web (a file named healthz is shadowed)', true],
  ])('GET and HEAD answer 200 ok %s; no log line at the default level', async (_what, withWeb) => {
    const lines: string[] = [];
    const logger = createLogger({ sinks: [(_level, line) => lines.push(line)] });
    const { port } = await server({ logger, ...(withWeb ? { web: tempWeb() } : {}) });
    const answer = parseAnswer(await rawExchange(port, get('/healthz')));
    expect([answer.status, answer.body]).toEqual([200, 'ok\n']);
    expect(answer.headers).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'content-length': '3',
      'cache-control': 'no-store',
    });
    const head = parseAnswer(await rawExchange(port, get('/healthz', 'HEAD')));
    expect([head.status, head.headers['content-length'], head.body]).toEqual([200, '3', '']);
    expect(parseAnswer(await rawExchange(port, get('/healthz?probe=lb'))).status).toBe(200);
    expect(lines).toEqual([]);
    // Other methods on the path get the usual method table.
    expect(parseAnswer(await rawExchange(port, get('/healthz', 'POST', 'Content-Length: 0\r\n'))).status).toBe(405);
  });

  it('with -v, one debug line per probe', async () => {
    const logger = recordingLogger();
    const { port } = await server({ logger });
    await rawExchange(port, get('/healthz'));
    expect(logger.lines).toEqual(['127.0.0.1: "GET /healthz" health check: 200']);
  });

  it('over TLS on the same port, and before --web-auth asks for credentials', async () => {
    const pki = await makeTestPki();
    defer(() => rmSync(pki.dir, { recursive: true, force: true }));
    const { port } = await server({
      tls: { cert: pki.server.cert, key: pki.server.key },
      web: tempWeb(),
      webAuth: true,
      auth: {
        authenticate: () => {
          throw Object.assign(new Error('no'), { status: 401 });
        },
      },
    });
    const ca = readFileSync(pki.ca);
    const fetchTls = (p: string): Promise<{ status: number; body: string }> =>
      withTimeout(
        new Promise((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', port, path: p, ca, servername: 'localhost' }, (res) => {
              let body = '';
              res.on('data', (d) => (body += d));
              res.on('end', () => resolve({ status: res.statusCode!, body }));
            })
            .on('error', reject);
        }),
        5000,
        `https ${p}`,
      );
    expect(await fetchTls('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await fetchTls('/index.html')).status).toBe(401);
  });
});

describe('drain()', () => {
  it('fails the health check at once, refuses new upgrades, keeps the open session until the time is up', async () => {
    const logger = recordingLogger();
    const { server: s, url, port, refused } = await server({ logger, web: tempWeb() });
    const c = await clientForTest(url);
    await expectEcho(c, 'before');
    const started = Date.now();
    const drained = s.drain(2);
    const health = parseAnswer(await rawExchange(port, get('/healthz')));
    expect([health.status, health.body]).toEqual([503, 'draining\n']);
    const upgrade = await attemptUpgrade(port, '/');
    expect([upgrade.status, upgrade.headers['retry-after'], upgrade.body]).toEqual([503, '1', 'Server is draining\n']);
    expect(refused).toEqual([{ reason: 'draining', status: 503, peer: '127.0.0.1' }]);
    expect(parseAnswer(await rawExchange(port, get('/index.html'))).status).toBe(503);
    await expectEcho(c, 'during the drain'); // the open session is not touched
    const closed = await withTimeout(c.closed, 10000, 'close at the end of the drain');
    expect(closed.code).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900); // not cut before the drain time
    await withTimeout(drained, 10000, 'drain() to resolve');
    expect(logger.lines).toContain('Draining: health check failing, new connections refused; 1 open, 2 s to finish');
    expect(logger.lines).toContain('Drain time up: closing 1 open with 1001');
    expect(await rawExchange(port, get('/healthz')).catch((e: Error) => e.message)).toMatch(/ECONNREFUSED/);
  });

  it('ends as soon as the last session has ended', async () => {
    const logger = recordingLogger();
    const { server: s, url } = await server({ logger });
    const c = await clientForTest(url);
    await expectEcho(c, 'x');
    const drained = s.drain(600);
    c.ws.close(1000);
    await withTimeout(drained, 10000, 'drain() to resolve when the session ended');
    expect(logger.lines).toContain('Drained: every session ended');
    expect(s.sessionCount).toBe(0);
  });

  it('with no session open, resolves at once; close() during a drain ends it', async () => {
    const { server: idle } = await server();
    await withTimeout(idle.drain(600), 5000, 'drain with nothing open');
    const { server: busy, url } = await server();
    const c = await clientForTest(url);
    await expectEcho(c, 'y');
    const drained = busy.drain(600);
    await busy.close();
    await withTimeout(drained, 5000, 'drain() after close()');
    expect((await withTimeout(c.closed, 5000, 'client close')).code).toBe(1001);
  });
});

describe.each(WORKER_MODES)('--drain-seconds (%s)', (_mode, workers) => {
  it('SIGTERM: health 503 at once, the open sessions run on, then 1001 and exit 0', async () => {
    const target = await echoForTest();
    const cli = await startCliForTest([...workers, '--drain-seconds', '2', '127.0.0.1:0', target]);
    // Two sessions: with --workers 2, one on each worker, and both drain.
    const sessions = await Promise.all([1, 2].map(() => clientForTest(`ws://127.0.0.1:${cli.port}/`)));
    for (const c of sessions) await expectEcho(c, 'hello');
    const started = Date.now();
    cli.child.kill('SIGTERM');
    await cli.waitForStderr(/Draining: health check failing/);
    // Every process that serves connections is draining before a check may be answered 200.
    await eventually(
      () => (cli.stderr().match(/Draining: health check failing/g) ?? []).length === Math.max(1, workers.length),
      'every worker draining',
    );
    // Health checks and new upgrades are answered 503 (by whichever worker gets them).
    for (let i = 0; i < 2; i++) {
      expect(parseAnswer(await rawExchange(cli.port, get('/healthz'))).status).toBe(503);
      expect((await attemptUpgrade(cli.port, '/')).status).toBe(503);
    }
    for (const c of sessions) await expectEcho(c, 'still here');
    for (const c of sessions) expect((await withTimeout(c.closed, 10000, 'client close')).code).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(await exitStatus(cli, 10000)).toBe(0);
  });
});

describe('--drain-seconds', () => {
  it.each([['-1'], ['abc']])('--drain-seconds %s exits 2 naming the flag', async (value) => {
    const cli = cliForTest(['--drain-seconds', value, '127.0.0.1:0', '127.0.0.1:5900']);
    expect(await exitStatus(cli, 10000)).toBe(2);
    expect(cli.stderr()).toContain('option --drain-seconds');
  });
});
