// Bad input against the library server (in-process, real sockets): slow and silent clients
// hit the request deadline, oversized headers, garbage, truncated requests, broken upgrades,
// non-upgrade methods, and broken frames after the upgrade each get the right HTTP status or
// close code, and after each one the server still serves a normal client. Then 1,000 clients
// connect at once.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import WebSocket from 'ws';
import type { WebsockifyServer } from '../src/index.js';
import { openClient, rawExchange, upgradeRequest } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { closePayload, encodeFrame, rawWebSocket, type RawWebSocket } from './helpers/raw-websocket.js';
import { eventually, sleep, withTimeout } from './helpers/wait.js';
import { echoTarget, type TestTarget } from './helpers/targets.js';

const MAX_MESSAGE = 64 * 1024;

let target: TestTarget;
let server: WebsockifyServer;
let port: number;
let url: string;

beforeAll(async () => {
  target = await echoTarget();
  ({ server, port, url } = await startProxy({
    target: `127.0.0.1:${target.port}`,
    handshakeTimeout: 1,
    maxMessageSize: MAX_MESSAGE,
    closeTimeout: 1,
  }));
});

afterAll(async () => {
  await withTimeout(server.close(), 10000, 'server close');
  await target.close();
});

/** A normal client still gets a byte-exact round trip, and its session ends cleanly. */
async function stillServes(): Promise<void> {
  const c = await openClient(url);
  try {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff));
    c.ws.send(data);
    expect((await c.waitForBytes(data.length, 5000)).equals(data)).toBe(true);
    c.ws.close(1000);
    expect((await withTimeout(c.closed, 5000, 'close')).code).toBe(1000);
  } finally {
    c.ws.terminate();
  }
}

/**
 * Connects, writes `chunks` (then half-closes when `endAfter`), and returns what the server
 * sent until it closed the connection. If the server has not closed it within `ms`, the socket
 * is destroyed and `timedOut` is true (so a failing test never leaves a connection behind).
 */
function exchange(
  chunks: (string | Buffer)[],
  { endAfter = false, ms = 5000 }: { endAfter?: boolean; ms?: number } = {},
): Promise<{ response: string; elapsed: number; timedOut: boolean }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const s = net.connect(port, '127.0.0.1', () => {
      for (const c of chunks) s.write(c);
      if (endAfter) s.end();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      s.destroy();
    }, ms);
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ response: Buffer.concat(got).toString('latin1'), elapsed: Date.now() - started, timedOut });
    });
  });
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1] ?? 0);

// The front-end http.Server never listens itself; it must still enforce the request deadline.
describe('the HTTP request deadline', () => {
  it('drops a client that connects and sends nothing, with 408, after the deadline', async () => {
    const silent = exchange([], { ms: 15000 });
    // Meanwhile everyone else is served.
    await stillServes();
    const { response, elapsed, timedOut } = await silent;
    expect(timedOut).toBe(false);
    expect(statusOf(response)).toBe(408);
    expect(response).toMatch(/\r\nConnection: close\r\n/);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    await stillServes();
  });

  it('drops a client that sends half a request and stops, with 408', async () => {
    const half = exchange(['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n'], { ms: 15000 });
    await stillServes();
    const { response, elapsed, timedOut } = await half;
    expect(timedOut).toBe(false);
    expect(statusOf(response)).toBe(408);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    await stillServes();
  });

  it('drops a client that trickles its headers slower than the deadline', async () => {
    const started = Date.now();
    const result = await new Promise<{ response: string; elapsed: number; timedOut: boolean }>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      const got: Buffer[] = [];
      s.on('data', (d) => got.push(d));
      let n = 0;
      let timedOut = false;
      const timer = setInterval(() => {
        if (!s.destroyed && s.writable) s.write(`X-Slow-${n++}: y\r\n`);
      }, 200);
      const deadline = setTimeout(() => {
        timedOut = true;
        s.destroy();
      }, 15000);
      s.once('connect', () => s.write('GET / HTTP/1.1\r\n'));
      s.on('close', () => {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve({ response: Buffer.concat(got).toString('latin1'), elapsed: Date.now() - started, timedOut });
      });
    });
    expect(result.timedOut).toBe(false);
    expect(statusOf(result.response)).toBe(408);
    await stillServes();
  });
});

describe('malformed HTTP', () => {
  it('headers larger than the limit get 431', async () => {
    const big = `X-Big: ${'a'.repeat(20 * 1024)}`;
    const response = await rawExchange(port, upgradeRequest('/', [big]));
    expect(statusOf(response)).toBe(431);
    await stillServes();
  });

  it('many small headers adding up over the limit get 431', async () => {
    const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'b'.repeat(50)}`);
    const response = await rawExchange(port, upgradeRequest('/', many));
    expect(statusOf(response)).toBe(431);
    await stillServes();
  });

  it('garbage bytes get 400', async () => {
    const response = await rawExchange(port, Buffer.from([0x17, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect(statusOf(response)).toBe(400);
    const text = await rawExchange(port, 'this is not http at all\r\n\r\n');
    expect(statusOf(text)).toBe(400);
    await stillServes();
  });

  it('bytes that start like TLS (0x16) are closed without an answer when TLS is off', async () => {
    const response = await rawExchange(port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect(response).toBe('');
    await stillServes();
  });

  it('a truncated request followed by close gets 400 and the connection is closed', async () => {
    // Cut in a header, in the request line, and an upgrade cut off before its blank line.
    for (const cut of [
      'GET /truncated HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr',
      'GET /tr',
      upgradeRequest('/').slice(0, -2),
    ]) {
      const { response, timedOut } = await exchange([cut], { endAfter: true });
      expect(timedOut).toBe(false);
      expect(statusOf(response)).toBe(400);
    }
    expect(server.sessionCount).toBe(0);
    await stillServes();
  });

  it('an upgrade without Sec-WebSocket-Key gets 400', async () => {
    const request = upgradeRequest('/').replace(/Sec-WebSocket-Key: [^\r]*\r\n/, '');
    const response = await rawExchange(port, request);
    expect(statusOf(response)).toBe(400);
    expect(response).toMatch(/\r\n\r\nMissing or invalid Sec-WebSocket-Key header\n$/);
    await stillServes();
  });

  it('an upgrade with an unsupported Sec-WebSocket-Version gets 426 naming the supported ones (RFC 6455 4.4)', async () => {
    const request = upgradeRequest('/').replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 7');
    const response = await rawExchange(port, request);
    expect(statusOf(response)).toBe(426);
    expect(response).toMatch(/\r\nSec-WebSocket-Version: 13, 8\r\n/);
    const missing = await rawExchange(port, upgradeRequest('/').replace('Sec-WebSocket-Version: 13\r\n', ''));
    expect(statusOf(missing)).toBe(426);
    await stillServes();
  });

  it('failed upgrades never open a target connection', async () => {
    const before = target.connections.length;
    await rawExchange(port, upgradeRequest('/').replace(/Sec-WebSocket-Key: [^\r]*\r\n/, ''));
    await rawExchange(port, upgradeRequest('/', ['Sec-WebSocket-Protocol: chat']));
    expect(target.connections.length).toBe(before);
  });

  it.each([
    ['GET', 405],
    ['HEAD', 405],
    ['POST', 405],
    ['PUT', 405],
    ['TRACE', 501],
    ['PROPFIND', 501],
  ])('non-upgrade %s gets %i', async (method, status) => {
    const body = method === 'POST' || method === 'PUT' ? 'x=1' : '';
    const response = await rawExchange(
      port,
      `${method} /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(statusOf(response)).toBe(status);
    const [, responseBody] = response.split('\r\n\r\n');
    if (method === 'HEAD') expect(responseBody).toBe('');
    else expect(responseBody!.length).toBeGreaterThan(0);
    await stillServes();
  });
});

describe('broken frames after the upgrade', () => {
  async function upgraded(): Promise<RawWebSocket> {
    const r = await rawWebSocket(port, { protocol: 'binary' });
    expect(r.status).toBe(101);
    return r;
  }

  async function closeCodeAfter(frames: Buffer[]): Promise<{ code: number | undefined; reason: string }> {
    const r = await upgraded();
    try {
      // A good frame first: the session is live before the bad one.
      r.send(encodeFrame(0x2, 'ping!'));
      await r.waitForPayload(5, 5000);
      for (const f of frames) r.send(f);
      const { code, reason } = await withTimeout(r.closeFrame, 5000, 'close frame');
      return { code, reason: reason.toString() };
    } finally {
      r.destroy();
    }
  }

  it('an unmasked client frame closes with 1002 (RFC 6455 5.1)', async () => {
    const { code } = await closeCodeAfter([encodeFrame(0x2, 'unmasked', { mask: false })]);
    expect(code).toBe(1002);
    await stillServes();
  });

  it('an unknown opcode closes with 1002 (RFC 6455 5.2: fail the connection)', async () => {
    const { code } = await closeCodeAfter([encodeFrame(0x3, 'reserved opcode')]);
    expect(code).toBe(1002);
    await stillServes();
  });

  it('reserved bits without an extension close with 1002', async () => {
    const { code } = await closeCodeAfter([encodeFrame(0x2, 'rsv', { rsv: 0b100 })]);
    expect(code).toBe(1002);
    await stillServes();
  });

  it('a continuation frame with nothing to continue closes with 1002', async () => {
    const { code } = await closeCodeAfter([encodeFrame(0x0, 'orphan')]);
    expect(code).toBe(1002);
    await stillServes();
  });

  it('a fragmented control frame closes with 1002', async () => {
    const { code } = await closeCodeAfter([encodeFrame(0x9, 'frag', { fin: false })]);
    expect(code).toBe(1002);
    await stillServes();
  });

  it('a text frame in binary mode closes with 1003 and the reference reason', async () => {
    const { code, reason } = await closeCodeAfter([encodeFrame(0x1, 'hello text')]);
    expect(code).toBe(1003);
    expect(reason).toBe('Unsupported: Text frames are not supported');
    await stillServes();
  });

  it('invalid UTF-8 in a close reason closes with 1007 (RFC 6455 8.1 and 7.4.1)', async () => {
    const { code } = await closeCodeAfter([encodeFrame(0x8, closePayload(1000, Buffer.from([0xc3, 0x28, 0xff])))]);
    expect(code).toBe(1007);
    await stillServes();
  });

  it('an invalid close code on the wire (1005) closes with 1002', async () => {
    const { code } = await closeCodeAfter([encodeFrame(0x8, closePayload(1005))]);
    expect(code).toBe(1002);
    await stillServes();
  });

  it('a message larger than maxMessageSize closes with 1009; one of exactly that size passes', async () => {
    const ok = await upgraded();
    try {
      const exact = Buffer.alloc(MAX_MESSAGE, 0x5a);
      ok.send(encodeFrame(0x2, exact));
      await ok.waitForPayload(MAX_MESSAGE, 5000);
      expect(ok.kept().equals(exact)).toBe(true);
    } finally {
      ok.destroy();
    }
    // One frame just over the limit, announced in the header.
    const single = await closeCodeAfter([encodeFrame(0x2, Buffer.alloc(MAX_MESSAGE + 1))]);
    expect(single.code).toBe(1009);
    // Fragments that add up to more than the limit.
    const half = Buffer.alloc(MAX_MESSAGE / 2 + 1, 1);
    const fragmented = await closeCodeAfter([
      encodeFrame(0x2, half, { fin: false }),
      encodeFrame(0x0, half, { fin: true }),
    ]);
    expect(fragmented.code).toBe(1009);
    await stillServes();
  });

  it('a client that vanishes mid-frame is cleaned up', async () => {
    const r = await upgraded();
    const frame = encodeFrame(0x2, Buffer.alloc(1000, 1));
    r.send(frame.subarray(0, 500));
    await sleep(50);
    r.destroy();
    await eventually(() => server.sessionCount <= 0, 'session count back to 0', { ms: 5000 });
    await stillServes();
  });
});

describe('load', () => {
  it('1,000 clients connecting at once all get a byte-exact round trip, and all sessions end', async () => {
    const t = await echoTarget();
    // Default request deadline: 1,000 simultaneous handshakes on a slow machine may take a while.
    const p = await startProxy({ target: `127.0.0.1:${t.port}` });
    const N = 1000;
    const clients: WebSocket[] = [];
    try {
      const results = await withTimeout(
        Promise.all(
          Array.from({ length: N }, (_, i) => {
            const ws = new WebSocket(p.url, { perMessageDeflate: false });
            clients.push(ws);
            const payload = Buffer.from(`client-${i}-${'#'.repeat(i % 17)}`);
            return new Promise<boolean>((resolve, reject) => {
              ws.on('error', reject);
              ws.once('open', () => ws.send(payload));
              ws.once('message', (data: Buffer) => resolve(data.equals(payload)));
            });
          }),
        ),
        40000,
        '1,000 round trips',
      );
      expect(results.filter(Boolean)).toHaveLength(N);
      expect(p.server.sessionCount).toBe(N);
      expect(t.connections).toHaveLength(N);

      const closes = clients.map(
        (ws) => new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code))),
      );
      for (const ws of clients) ws.close(1000);
      const codes = await withTimeout(Promise.all(closes), 20000, 'all closed');
      expect(codes.every((c) => c === 1000)).toBe(true);
      await eventually(() => p.server.sessionCount <= 0, 'sessionCount back to 0');
      expect(p.server.sessionCount).toBe(0);
    } finally {
      for (const ws of clients) ws.terminate();
      await withTimeout(p.server.close(), 10000, 'load server close');
      await t.close();
    }
  }, 60000);
});
