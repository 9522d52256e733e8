// The server events, on a standalone server and on one attached to an application's http
// server alike: upgrade, target-connect and session-end with the session's stats (bytes each
// way, handshake, connect and session times, close code), and refused with its reason, status
// and peer for every refusal (bad handshake, token, auth, origin; run-once and the open-file
// limit on the standalone server). Real sockets on loopback; exact fields.

import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import {
  attachWebsockify,
  AuthenticationError,
  loadAuthPlugin,
  tokenResolver,
  type AuthPlugin,
  type WebsockifyOptions,
} from '../src/index.js';
import { makeTestPki } from './helpers/certs.js';
import { defer } from './helpers/cleanup.js';
import { openClient, rawExchange, silentConnections, upgradeRequest } from './helpers/clients.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { attemptUpgrade, recordingLogger } from './helpers/plugins.js';
import { startProxy } from './helpers/proxy.js';
import { blackhole, echoTarget, unusedPort } from './helpers/targets.js';

const EVENTS = ['upgrade', 'target-connect', 'session-end', 'refused'] as const;

interface Seen {
  event: (typeof EVENTS)[number];
  /** A copy of the argument as it was when emitted (stats objects change later). */
  payload: Record<string, unknown>;
}

/** Records every event `emitter` emits, in order. */
function record(emitter: EventEmitter): Seen[] {
  const seen: Seen[] = [];
  for (const event of EVENTS) {
    emitter.on(event, (payload: Record<string, unknown>) => seen.push({ event, payload: { ...payload } }));
  }
  return seen;
}

type Kind = 'standalone' | 'attached';

interface Mounted {
  port: number;
  url: string;
  seen: Seen[];
  close(): Promise<void>;
  sessionCount(): number;
}

/** Options both kinds take. */
type Options = Pick<
  WebsockifyOptions,
  'target' | 'resolveTarget' | 'auth' | 'connectTimeout' | 'runOnce' | 'tls' | 'handshakeTimeout'
>;

/** A proxy of `kind` listening on loopback, its events recorded; closed after the test. */
async function mount(kind: Kind, options: Options): Promise<Mounted> {
  const logger = recordingLogger();
  if (kind === 'standalone') {
    const { server, port, url } = await startProxy({ ...options, logger });
    defer(() => server.close());
    return { port, url, seen: record(server), close: () => server.close(), sessionCount: () => server.sessionCount };
  }
  const { runOnce: _standaloneOnly, tls: _tlsStandaloneOnly, ...attachOptions } = options;
  const app = http.createServer((_req, res) => res.end('app'));
  const attached = attachWebsockify(app, { ...attachOptions, logger });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
  defer(() => new Promise<void>((r) => app.close(() => r())));
  defer(() => attached.close());
  const { port } = app.address() as net.AddressInfo;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    seen: record(attached),
    close: () => attached.close(),
    sessionCount: () => attached.sessionCount,
  };
}

/** An echo target closed after the test. */
async function echoForEvents(): Promise<{ port: number }> {
  const echo = await echoTarget();
  defer(() => echo.close());
  return echo;
}

/** A TLS handshake attempt without a client certificate; resolves when the server closes. */
function tlsAttempt(port: number): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
      s.on('error', () => {});
      s.on('close', () => resolve());
      defer(() => s.destroy());
    }),
    10000,
    'the server to close the TLS attempt',
  );
}

const names = (seen: Seen[]): string[] => seen.map((s) => s.event);
const payloadOf = (seen: Seen[], event: Seen['event']): Record<string, unknown> => {
  const found = seen.find((s) => s.event === event);
  if (!found) throw new Error(`no ${event} event; seen: ${names(seen).join(', ')}`);
  return found.payload;
};
async function waitForEvent(seen: Seen[], event: Seen['event'], count = 1): Promise<void> {
  await eventually(
    () => seen.filter((s) => s.event === event).length >= count,
    () => `${count} ${event} event(s); seen: ${names(seen).join(', ')}`,
  );
}

/** The stats fields every event of one session shares. */
function sessionBase(path: string, target: string): Record<string, unknown> {
  return { id: expect.any(Number), peer: '127.0.0.1', path, encoding: 'binary', target, startedAt: expect.any(Number) };
}

describe.each<Kind>(['standalone', 'attached'])('%s server events', (kind) => {
  it('a proxied session: upgrade, target-connect, session-end with its bytes, times and close code', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const target = `127.0.0.1:${echo.port}`;
    const { url, seen } = await mount(kind, { target });
    const before = Date.now();
    const c = await openClient(`${url}/vnc?x=1`, 'binary');
    defer(() => c.ws.terminate());
    await waitForEvent(seen, 'target-connect');
    const data = randomBytes(1000);
    c.ws.send(data.subarray(0, 600));
    c.ws.send(data.subarray(600));
    expect((await c.waitForBytes(1000)).equals(data)).toBe(true);
    c.ws.close(1000);
    expect((await withTimeout(c.closed, 5000, 'close')).code).toBe(1000);
    await waitForEvent(seen, 'session-end');
    const after = Date.now();

    expect(names(seen)).toEqual(['upgrade', 'target-connect', 'session-end']);
    const base = sessionBase('/vnc?x=1', target);
    const upgrade = payloadOf(seen, 'upgrade');
    expect(upgrade).toStrictEqual({
      ...base,
      bytesToTarget: 0,
      bytesToClient: 0,
      handshakeMs: expect.any(Number),
      connectMs: undefined,
      connectError: undefined,
      durationMs: undefined,
      closeCode: 1006,
    });
    const connected = payloadOf(seen, 'target-connect');
    expect(connected).toStrictEqual({
      ...upgrade,
      connectMs: expect.any(Number),
    });
    const ended = payloadOf(seen, 'session-end');
    expect(ended).toStrictEqual({
      ...connected,
      bytesToTarget: 1000,
      bytesToClient: 1000,
      durationMs: expect.any(Number),
      closeCode: 1000,
    });
    // One session: the same id and start throughout; the times are within what the test saw.
    expect(connected['id']).toBe(upgrade['id']);
    expect(ended['id']).toBe(upgrade['id']);
    const startedAt = upgrade['startedAt'] as number;
    expect(startedAt).toBeGreaterThanOrEqual(before);
    for (const ms of [upgrade['handshakeMs'], connected['connectMs'], ended['durationMs']] as number[]) {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(after - before);
    }
    expect(ended['durationMs']).toBeLessThanOrEqual(after - startedAt);
  });

  it('a target that refuses: target-connect with ECONNREFUSED, then session-end with 1011', async () => {
    const port = await unusedPort();
    const target = `127.0.0.1:${port}`;
    const { url, seen } = await mount(kind, { target });
    const c = await openClient(`${url}/`, 'binary');
    defer(() => c.ws.terminate());
    expect((await withTimeout(c.closed, 5000, 'close')).code).toBe(1011);
    await waitForEvent(seen, 'session-end');
    expect(names(seen)).toEqual(['upgrade', 'target-connect', 'session-end']);
    const connected = payloadOf(seen, 'target-connect');
    expect(connected).toStrictEqual({
      ...sessionBase('/', target),
      bytesToTarget: 0,
      bytesToClient: 0,
      handshakeMs: expect.any(Number),
      connectMs: expect.any(Number),
      connectError: 'ECONNREFUSED',
      durationMs: undefined,
      closeCode: 1006,
    });
    expect(payloadOf(seen, 'session-end')).toStrictEqual({
      ...connected,
      durationMs: expect.any(Number),
      closeCode: 1011,
    });
  });

  it('a target that never answers: target-connect with ETIMEDOUT after the connect timeout', async () => {
    const port = await blackhole();
    const { url, seen } = await mount(kind, { target: `127.0.0.1:${port}`, connectTimeout: 0.3 });
    const c = await openClient(`${url}/`, 'binary');
    defer(() => c.ws.terminate());
    expect((await withTimeout(c.closed, 10000, 'close')).code).toBe(1011);
    await waitForEvent(seen, 'session-end');
    const connected = payloadOf(seen, 'target-connect');
    expect(connected['connectError']).toBe('ETIMEDOUT');
    // The timer fired no earlier than the timeout (less a timer's rounding).
    expect(connected['connectMs']).toBeGreaterThanOrEqual(299);
    expect(payloadOf(seen, 'session-end')['closeCode']).toBe(1011);
  });

  it('a client that leaves while the target is connecting: session-end without target-connect', async () => {
    const port = await blackhole();
    const { url, seen } = await mount(kind, { target: `127.0.0.1:${port}`, connectTimeout: 120 });
    const c = await openClient(`${url}/`, 'binary');
    await waitForEvent(seen, 'upgrade');
    c.ws.terminate();
    await waitForEvent(seen, 'session-end');
    expect(names(seen)).toEqual(['upgrade', 'session-end']);
    const ended = payloadOf(seen, 'session-end');
    expect(ended['connectMs']).toBeUndefined();
    expect(ended['connectError']).toBeUndefined();
    expect(ended['closeCode']).toBe(1006);
  });

  it('closed while the target is connecting: the session still ends (1001), with session-end', async () => {
    const port = await blackhole();
    const m = await mount(kind, { target: `127.0.0.1:${port}`, connectTimeout: 120 });
    const { seen } = m;
    const c = await openClient(`${m.url}/`, 'binary');
    defer(() => c.ws.terminate());
    await waitForEvent(seen, 'upgrade');
    await withTimeout(m.close(), 20000, 'close');
    expect((await withTimeout(c.closed, 5000, 'client closed')).code).toBe(1001);
    expect(names(seen)).toEqual(['upgrade', 'session-end']);
    expect(payloadOf(seen, 'session-end')['closeCode']).toBe(1001);
    expect(m.sessionCount()).toBe(0);
  });

  it('refused: bad handshakes, token, auth and origin refusals, each with its status and peer', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const resolveTarget = tokenResolver({
      lookup: (token) => (token === 'good' ? { kind: 'tcp', host: '127.0.0.1', port: echo.port } : undefined),
    });
    const origin = await loadAuthPlugin('ExpectOrigin', 'http://good.example', { logger: recordingLogger() });
    const auth: AuthPlugin = {
      async authenticate(request) {
        if (request.headers['x-crash'] !== undefined) throw new Error('plugin bug');
        if (request.headers['x-pass'] !== 'yes') throw new AuthenticationError({ status: 401, message: 'who?' });
        await origin.authenticate(request);
      },
    };
    const { port, seen } = await mount(kind, { resolveTarget, auth });
    const cases: [request: string, status: number, reason: string][] = [
      [upgradeRequest('/?token=good').replace('Version: 13', 'Version: 99'), 426, 'bad-handshake'],
      [upgradeRequest('/?token=good', ['Sec-WebSocket-Protocol: chat']), 400, 'bad-handshake'],
      [upgradeRequest('/').replace('Host: 127.0.0.1\r\n', ''), 400, 'bad-handshake'],
      [upgradeRequest('/?token=bad'), 404, 'token'],
      [upgradeRequest('/'), 400, 'token'],
      [upgradeRequest('/?token=good'), 401, 'auth'],
      [upgradeRequest('/?token=good', ['X-Pass: yes', 'X-Crash: 1']), 500, 'auth'],
      [upgradeRequest('/?token=good', ['X-Pass: yes', 'Origin: http://evil.example']), 403, 'origin'],
    ];
    for (const [request, status] of cases) {
      expect((await rawExchange(port, request)).split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    }
    await waitForEvent(seen, 'refused', cases.length);
    expect(seen).toStrictEqual(
      cases.map(([, status, reason]) => ({ event: 'refused', payload: { reason, status, peer: '127.0.0.1' } })),
    );
    // And one that passes every check is a session.
    const answer = await attemptUpgrade(port, '/?token=good', ['X-Pass: yes', 'Origin: http://good.example']);
    expect(answer.status).toBe(101);
    await waitForEvent(seen, 'upgrade');
    expect(seen.filter((s) => s.event === 'refused')).toHaveLength(cases.length);
  });
});

describe('attached server events', () => {
  it('an upgrade on another path, answered 400 by websockify, is refused as a bad handshake', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const app = http.createServer((_req, res) => res.end('app'));
    const attached = attachWebsockify(app, {
      path: '/ws',
      target: `127.0.0.1:${echo.port}`,
      logger: recordingLogger(),
    });
    const seen = record(attached);
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    defer(() => new Promise<void>((r) => app.close(() => r())));
    defer(() => attached.close());
    const { port } = app.address() as net.AddressInfo;
    expect(await rawExchange(port, upgradeRequest('/elsewhere'))).toMatch(/^HTTP\/1\.1 400 /);
    await waitForEvent(seen, 'refused');
    expect(seen).toStrictEqual([
      { event: 'refused', payload: { reason: 'bad-handshake', status: 400, peer: '127.0.0.1' } },
    ]);
    expect(attached.sessionCount).toBe(0);
  });
});

describe('standalone server events', () => {
  it('TLS refusals: a failed handshake, a refused client certificate, TLS while off, plain under --ssl-only', async () => {
    const pki = await makeTestPki();
    defer(() => pki.remove());
    const target = `127.0.0.1:${(await echoForEvents()).port}`;
    const off = await mount('standalone', { target });
    const verifying = await mount('standalone', {
      target,
      tls: { cert: pki.server.cert, key: pki.server.key, verifyClient: true, cafile: pki.ca },
    });
    const sslOnly = await mount('standalone', { target, tls: { cert: pki.server.combined, sslOnly: true } });

    await tlsAttempt(off.port); // a TLS client while TLS is off: closed
    await tlsAttempt(verifying.port); // no client certificate under verifyClient
    // A handshake record that is no ClientHello: at most a TLS alert comes back, never HTTP.
    expect(await rawExchange(verifying.port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 1, 2, 3, 4]))).not.toMatch(
      /HTTP/,
    );
    expect(await rawExchange(sslOnly.port, upgradeRequest('/'))).toBe('');
    await waitForEvent(off.seen, 'refused');
    await waitForEvent(verifying.seen, 'refused', 2);
    await waitForEvent(sslOnly.seen, 'refused');
    const tlsRefusal = { event: 'refused', payload: { reason: 'tls', status: 0, peer: '127.0.0.1' } };
    expect(off.seen).toStrictEqual([tlsRefusal]);
    expect(verifying.seen).toStrictEqual([tlsRefusal, tlsRefusal]);
    expect(sslOnly.seen).toStrictEqual([tlsRefusal]);
  });

  it('the handshake deadline: a timeout refusal, 408 where plain HTTP was expected, 0 in the TLS handshake', async () => {
    const pki = await makeTestPki();
    defer(() => pki.remove());
    const target = `127.0.0.1:${(await echoForEvents()).port}`;
    const { port, seen } = await mount('standalone', {
      target,
      handshakeTimeout: 1,
      tls: { cert: pki.server.combined },
    });
    // Nothing sent; half a request; the first byte of a TLS handshake and no more.
    const answers = await Promise.all([
      rawExchange(port, Buffer.alloc(0), 10000),
      rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n', 10000),
      rawExchange(port, Buffer.from([0x16]), 10000),
    ]);
    expect(answers.map((a) => a.split('\r\n')[0])).toStrictEqual([
      'HTTP/1.1 408 Request Timeout',
      'HTTP/1.1 408 Request Timeout',
      '',
    ]);
    await waitForEvent(seen, 'refused', 3);
    const statuses = seen
      .map((s) => s.payload as { reason: string; status: number })
      .map((p) => `${p.reason} ${p.status}`)
      .sort();
    expect(statuses).toStrictEqual(['timeout 0', 'timeout 408', 'timeout 408']);
  });

  it('--run-once: a second upgrade on a kept-alive connection is refused with 503 (limit)', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const { port, url, seen } = await mount('standalone', { target: `127.0.0.1:${echo.port}`, runOnce: true });
    // A connection accepted before the session, kept alive by a plain request.
    const raw = net.connect(port, '127.0.0.1');
    defer(() => raw.destroy());
    let answers = '';
    raw.on('data', (d) => (answers += d.toString('latin1')));
    raw.on('error', () => {});
    raw.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await eventually(
      () => /^HTTP\/1\.1 405 [^]*\r\n\r\n/.test(answers),
      () => `first answer; ${answers}`,
    );
    const c = await openClient(`${url}/`, 'binary');
    defer(() => c.ws.terminate());
    await waitForEvent(seen, 'upgrade');
    raw.write(upgradeRequest('/'));
    await eventually(
      () => answers.includes('HTTP/1.1 503 '),
      () => `503; ${answers}`,
    );
    await waitForEvent(seen, 'refused');
    expect(seen.filter((s) => s.event === 'refused')).toStrictEqual([
      { event: 'refused', payload: { reason: 'limit', status: 503, peer: '127.0.0.1' } },
    ]);
  });

  it('at the open-file limit: one fd-limit refusal per connection closed unanswered', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const fixture = fileURLToPath(new URL('./fixtures/refusal-events.mjs', import.meta.url));
    // prlimit sets the limit of the spawned server only.
    const child = spawn('prlimit', ['--nofile=128:128', process.execPath, fixture, `127.0.0.1:${echo.port}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    defer(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await eventually(
      () => /^listening \d+\n/.test(out),
      () => `fixture listening; ${out}`,
    );
    const port = Number(/^listening (\d+)/.exec(out)![1]);
    const events = (): unknown[] =>
      out
        .split('\n')
        .slice(1)
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as unknown);

    // 200 connections that send nothing: the server holds each until its handshake deadline.
    const TOTAL = 200;
    const conns = silentConnections(port, TOTAL);
    const { open, refused } = conns;
    await eventually(
      () => refused() > 0 && open() + refused() === TOTAL && events().length === refused(),
      () => `every refusal an event; open ${open()}, refused ${refused()}, events ${events().length}`,
      { ms: 15000 },
    );
    expect(events()).toStrictEqual(
      Array.from({ length: refused() }, () => ({ reason: 'fd-limit', status: 0, peer: '127.0.0.1' })),
    );
  });
});
