// The Websock client library (websockify-node/client, Node entry with `ws`) against the real proxy:
// the receive queue across message boundaries, base64 mode, send-queue backpressure with a slow
// target, and close codes surfaced to the caller.

import { describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Websock, type WebsockCloseEvent } from '../src/client/node.js';
import { startProxy } from './helpers/proxy.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { defer } from './helpers/cleanup.js';
import { echoTarget, sinkTarget, unusedPort, type TestTarget } from './helpers/targets.js';

interface OpenWebsock {
  sock: Websock;
  /** Messages received (notifications) so far. */
  messages(): number;
  /** Resolves when the receive queue holds at least n bytes. */
  queued(n: number, ms?: number): Promise<void>;
  closed: Promise<WebsockCloseEvent>;
}

/** Opens a Websock through the proxy at `url` and waits for it to be open. */
async function openWebsock(url: string, protocols?: string | string[], sock = new Websock()): Promise<OpenWebsock> {
  let messages = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  sock.on('message', () => {
    messages += 1;
    waiters = waiters.filter((w) => (sock.rQlen() >= w.n ? (w.resolve(), false) : true));
  });
  const closed = new Promise<WebsockCloseEvent>((resolve) => sock.on('close', resolve));
  const opened = new Promise<void>((resolve, reject) => {
    sock.on('open', resolve);
    sock.on('error', (e) => reject(new Error(e.message)));
  });
  sock.open(url, protocols);
  defer(() => sock.close());
  await withTimeout(opened, 10000, `open ${url}`);
  return {
    sock,
    messages: () => messages,
    queued: (n, ms = 10000) =>
      withTimeout(
        new Promise<void>((resolve) => (sock.rQlen() >= n ? resolve() : waiters.push({ n, resolve }))),
        ms,
        `${n} queued bytes (have ${sock.rQlen()})`,
      ),
    closed,
  };
}

async function proxyTo(target: TestTarget | number): Promise<string> {
  const port = typeof target === 'number' ? target : target.port;
  const p = await startProxy({ target: `127.0.0.1:${port}` });
  defer(() => p.server.close());
  return p.url;
}

/** A target that writes each chunk in its own write, `gapMs` apart, then stays open. */
async function chunkedSource(chunks: Buffer[], gapMs: number): Promise<TestTarget> {
  const connections: net.Socket[] = [];
  const server = net.createServer(async (c) => {
    connections.push(c);
    c.on('error', () => {});
    for (const chunk of chunks) {
      c.write(chunk);
      await new Promise((r) => setTimeout(r, gapMs));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const t: TestTarget = {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((r) => {
        for (const c of connections) c.destroy();
        server.close(() => r());
      }),
  };
  defer(() => t.close());
  return t;
}

describe('receive queue', () => {
  it('reads a 32-bit value split over two WebSocket messages, then 16/8-bit values, bytes and strings', async () => {
    const first = Buffer.from([0x12, 0x34]);
    const second = Buffer.concat([Buffer.from([0x56, 0x78, 0xab, 0xcd, 0xef]), Buffer.from('hello\xff', 'latin1')]);
    const target = await chunkedSource([first, second], 300);
    const c = await openWebsock(await proxyTo(target));

    await c.queued(2);
    expect(c.messages()).toBe(1);
    expect(c.sock.rQwait('u32', 4)).toBe(true); // not there yet: wait
    expect(c.sock.rQpeek16()).toBe(0x1234);

    await c.queued(first.length + second.length);
    expect(c.messages()).toBe(2);
    expect(c.sock.rQwait('u32', 4)).toBe(false);
    expect(c.sock.rQpeek32()).toBe(0x12345678);
    expect(c.sock.rQshift32()).toBe(0x12345678);
    expect(c.sock.rQpeek8()).toBe(0xab);
    expect(c.sock.rQshift16()).toBe(0xabcd);
    expect(c.sock.rQshift8()).toBe(0xef);
    expect(c.sock.rQlen()).toBe(6);
    expect(Array.from(c.sock.rQpeekBytes(2))).toEqual([0x68, 0x65]);
    expect(c.sock.rQshiftStr(5)).toBe('hello');
    expect(Array.from(c.sock.rQshiftBytes())).toEqual([0xff]);
    expect(c.sock.rQlen()).toBe(0);
    expect(() => c.sock.rQshift8()).toThrow(/receive queue holds 0 bytes, 1 requested/);
  });

  it('rQwait with goback puts a partly read record back', async () => {
    const target = await chunkedSource([Buffer.from([0, 0, 0, 3, 0x61]), Buffer.from([0x62, 0x63])], 300);
    const c = await openWebsock(await proxyTo(target));
    await c.queued(5);
    const length = c.sock.rQshift32();
    expect(length).toBe(3);
    expect(c.sock.rQwait('body', length, 4)).toBe(true);
    expect(c.sock.rQlen()).toBe(5); // the length field is back in the queue
    await c.queued(7);
    expect(c.sock.rQshift32()).toBe(3);
    expect(c.sock.rQshiftStr(3)).toBe('abc');
  });

  it('sends bytes and latin1 strings that come back byte-exact through an echo target', async () => {
    const target = await echoTarget();
    defer(() => target.close());
    const c = await openWebsock(await proxyTo(target));
    expect(c.sock.encoding).toBe('binary');
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    c.sock.send(all);
    c.sock.send('caf\xe9');
    c.sock.send([1, 2, 3]);
    await c.queued(256 + 4 + 3);
    expect(Buffer.from(c.sock.rQshiftBytes(256)).equals(Buffer.from(all))).toBe(true);
    expect(c.sock.rQshiftStr(4)).toBe('caf\xe9');
    expect(Array.from(c.sock.rQshiftBytes())).toEqual([1, 2, 3]);
    expect(() => c.sock.send('\u20ac')).toThrow(/U\+20AC .* TextEncoder/);
  });
});

describe('reopening', () => {
  it('open() after close() uses the new connection and ignores events of the old one', async () => {
    const target = await echoTarget();
    defer(() => target.close());
    const url = await proxyTo(target);
    const first = await openWebsock(url);
    first.sock.close();
    expect(first.sock.readyState).toBe('closing');
    const second = await openWebsock(url, undefined, first.sock);
    second.sock.send('again');
    await second.queued(5);
    expect(second.sock.rQshiftStr()).toBe('again');
    // The first socket's close event (long since delivered) did not reach the new handlers.
    await new Promise((r) => setTimeout(r, 300));
    const settled = await Promise.race([second.closed.then(() => 'closed'), Promise.resolve('open')]);
    expect(settled).toBe('open');
    expect(second.sock.readyState).toBe('open');
    expect(target.connections.length).toBe(2);
  });
});

describe('base64 mode', () => {
  it('negotiates base64 when offered alone and carries every byte value both ways', async () => {
    const target = await echoTarget();
    defer(() => target.close());
    const c = await openWebsock(await proxyTo(target), 'base64');
    expect(c.sock.encoding).toBe('base64');
    const data = randomBytes(200_000);
    c.sock.send(data);
    await c.queued(data.length, 20000);
    expect(Buffer.from(c.sock.rQshiftBytes()).equals(data)).toBe(true);
  });

  it('the default offer gets binary from this proxy', async () => {
    const target = await echoTarget();
    defer(() => target.close());
    const c = await openWebsock(await proxyTo(target));
    expect(c.sock.encoding).toBe('binary');
  });
});

describe('send queue backpressure', () => {
  it('holds data while the target does not read, then delivers all of it byte-exact', async () => {
    // The sink target stops reading for a while: the proxy stops reading the client, the
    // socket's bufferedAmount grows, and Websock must keep the rest in its send queue.
    const target = await sinkTarget();
    defer(() => target.close());
    const paused = new Promise<net.Socket>((resolve) => {
      const timer = setInterval(() => {
        const conn = target.connections[0];
        if (conn) {
          clearInterval(timer);
          resolve(conn);
        }
      }, 5);
    });
    const url = await proxyTo(target);
    const sock = new Websock({ maxBufferedAmount: 128 * 1024 });
    const c = await openWebsock(url, undefined, sock);
    const conn = await withTimeout(paused, 5000, 'target connection');
    conn.pause();

    const data = randomBytes(32 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 100_000) c.sock.send(data.subarray(i, i + 100_000));
    expect(c.sock.sQlen()).toBeGreaterThan(0);
    expect(c.sock.flush()).toBe(false);
    // Never more than the threshold plus one message handed to the socket beyond what it sent.
    expect(c.sock.bufferedAmount).toBeLessThanOrEqual(128 * 1024 + 64 * 1024 + 64);
    await new Promise((r) => setTimeout(r, 500));
    expect(c.sock.sQlen()).toBeGreaterThan(0); // still held: nothing was dropped or forced out

    conn.resume();
    await eventually(
      () => target.received().length >= data.length,
      () => `all ${data.length} bytes at the target (have ${target.received().length})`,
      { ms: 60000 },
    );
    expect(c.sock.sQlen()).toBe(0);
    const got = target.received();
    expect(got.length).toBe(data.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  }, 90000);
});

describe('close codes', () => {
  it('surfaces 1000 "Target closed" when the target ends the connection', async () => {
    const target = await chunkedSource([Buffer.from('bye')], 0);
    const c = await openWebsock(await proxyTo(target));
    await c.queued(3);
    for (const conn of target.connections) conn.end();
    const e = await withTimeout(c.closed, 10000, 'close event');
    expect(e).toEqual({ code: 1000, reason: 'Target closed', wasClean: true });
    expect(c.sock.rQshiftStr()).toBe('bye'); // data received before the close stays readable
    expect(c.sock.readyState).toBe('closed');
  });

  it('surfaces 1011 when the proxy cannot connect to the target', async () => {
    const c = await openWebsock(await proxyTo(await unusedPort()));
    const e = await withTimeout(c.closed, 10000, 'close event');
    expect(e.code).toBe(1011);
    expect(e.reason).toBe('Failed to connect to downstream server');
  });

  it('reports a refused upgrade as an error, then a close with 1006', async () => {
    const server = http.createServer((_req, res) => res.writeHead(403).end());
    server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    defer(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    const sock = new Websock();
    const errors: string[] = [];
    sock.on('error', (e) => errors.push(e.message));
    const closed = new Promise<WebsockCloseEvent>((resolve) => sock.on('close', resolve));
    sock.open(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`);
    const e = await withTimeout(closed, 10000, 'close event');
    expect(e.code).toBe(1006);
    expect(errors.join()).toMatch(/403/);
  });
});
