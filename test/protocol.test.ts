// Subprotocol negotiation and close semantics against a real proxy on loopback.

import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';
import type { WebsockifyServer } from '../src/index.js';
import { openClient, rawExchange, upgradeRequest } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { defer } from './helpers/cleanup.js';
import { echoTarget, sinkTarget, sourceTarget, unusedPort, type TestTarget } from './helpers/targets.js';

async function proxyTo(target: TestTarget): Promise<{ server: WebsockifyServer; url: string; port: number }> {
  const p = await startProxy({ target: `127.0.0.1:${target.port}` });
  defer(() => p.server.close());
  return p;
}

async function echo(): Promise<TestTarget> {
  const t = await echoTarget();
  defer(() => t.close());
  return t;
}

describe('subprotocol negotiation', () => {
  const accepted: [string | undefined, string][] = [
    [undefined, ''],
    ['binary', 'binary'],
    ['base64', 'base64'],
    ['binary, base64', 'binary'],
    ['base64,binary', 'binary'],
    ['base64, binary', 'binary'], // the reference answers 400 here: offers are trimmed
    ['  binary  ', 'binary'],
    ['chat, base64', 'base64'],
  ];
  it.each(accepted)('offer %p selects %p', async (offer, expected) => {
    const { port } = await proxyTo(await echo());
    const extra = offer === undefined ? [] : [`Sec-WebSocket-Protocol: ${offer}`];
    const response = await rawExchangeHead(port, upgradeRequest('/', extra));
    expect(response).toMatch(/^HTTP\/1\.1 101 /);
    const header = /\r\nSec-WebSocket-Protocol: ([^\r]*)\r\n/i.exec(response);
    expect(header?.[1] ?? '').toBe(expected);
    const accept = createHash('sha1')
      .update('dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64');
    expect(response).toContain(`Sec-WebSocket-Accept: ${accept}\r\n`);
  });

  it.each(['chat', 'chat, superchat'])('offer %p without binary or base64 gets 400 with a reason', async (offer) => {
    const { port } = await proxyTo(await echo());
    const response = await rawExchange(port, upgradeRequest('/', [`Sec-WebSocket-Protocol: ${offer}`]));
    expect(response).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(response).toContain("Client must support 'binary' or 'base64' protocol");
  });

  it('accepts upgrades on any path, with any query', async () => {
    const { url } = await proxyTo(await echo());
    for (const path of ['/', '/websockify', '/a/b/c?token=x&y=1']) {
      const c = await openClient(url + path);
      c.ws.send(Buffer.from(path));
      expect((await c.waitForBytes(path.length)).toString()).toBe(path);
      c.ws.close();
      await c.closed;
    }
  });
});

/** Reads only the response head of an upgrade (the connection stays open after a 101). */
function rawExchangeHead(port: number, request: string): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      let got = '';
      const s = net.connect(port, '127.0.0.1', () => s.write(request));
      s.on('data', (d) => {
        got += d.toString('latin1');
        if (got.includes('\r\n\r\n')) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
      s.on('close', () => resolve(got));
    }),
    5000,
    'response head',
  );
}

describe('close semantics', () => {
  it('target EOF: everything the target sent arrives, then 1000 "Target closed"', async () => {
    const data = Buffer.alloc(300_000, 7);
    const target = await sourceTarget(data);
    defer(() => target.close());
    const { url } = await proxyTo(target);
    const c = await openClient(url);
    const closed = await withTimeout(c.closed, 5000, 'close');
    expect(closed).toEqual({ code: 1000, reason: 'Target closed' });
    expect(c.bytes().equals(data)).toBe(true);
  });

  it('target down: 1011 "Failed to connect to downstream server" after the upgrade', async () => {
    const port = await unusedPort();
    const p = await startProxy({ target: `127.0.0.1:${port}` });
    defer(() => p.server.close());
    const c = await openClient(p.url);
    expect(await withTimeout(c.closed, 5000, 'close')).toEqual({
      code: 1011,
      reason: 'Failed to connect to downstream server',
    });
  });

  it('client close with a code: echoed, queued data reaches the target, target is ended', async () => {
    const sink = await sinkTarget();
    defer(() => sink.close());
    const { url } = await proxyTo(sink);
    const c = await openClient(url);
    const payload = Buffer.alloc(2 * 1024 * 1024, 3);
    c.ws.send(payload);
    c.ws.close(4000, 'bye');
    expect(await withTimeout(c.closed, 5000, 'close')).toEqual({ code: 4000, reason: 'bye' });
    await withTimeout(sink.ended(0), 5000, 'target end');
    expect(sink.received(0).equals(payload)).toBe(true);
  });

  it('client close without a code: answered with an empty close frame (1005 is never sent)', async () => {
    const { port } = await proxyTo(await echo());
    // Raw client: handshake, then a masked close frame with no payload.
    const response = await rawExchange(
      port,
      Buffer.concat([Buffer.from(upgradeRequest()), Buffer.from([0x88, 0x80, 1, 2, 3, 4])]),
    );
    const body = Buffer.from(response.slice(response.indexOf('\r\n\r\n') + 4), 'latin1');
    expect(body.equals(Buffer.from([0x88, 0x00]))).toBe(true);
  });

  it('client EOF without a close frame: pending data still reaches the target, which is ended', async () => {
    const sink = await sinkTarget();
    defer(() => sink.close());
    const { port } = await proxyTo(sink);
    const payload = Buffer.from('last words');
    const mask = Buffer.from([9, 8, 7, 6]);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    const frame = Buffer.concat([Buffer.from([0x82, 0x80 | payload.length]), mask, masked]);
    const s = net.connect(port, '127.0.0.1', () => s.end(Buffer.concat([Buffer.from(upgradeRequest()), frame])));
    s.on('error', () => {});
    s.resume();
    defer(() => s.destroy());
    await withTimeout(sink.ended(0), 5000, 'target end');
    expect(sink.received(0).toString()).toBe('last words');
  });

  it('text frames in binary mode close with 1003', async () => {
    const { url } = await proxyTo(await echo());
    const c = await openClient(url, 'binary');
    c.ws.send('text');
    expect(await withTimeout(c.closed, 5000, 'close')).toEqual({
      code: 1003,
      reason: 'Unsupported: Text frames are not supported',
    });
  });

  it('messages above maxMessageSize close with 1009', async () => {
    const target = await echo();
    const p = await startProxy({ target: `127.0.0.1:${target.port}`, maxMessageSize: 1000 });
    defer(() => p.server.close());
    const c = await openClient(p.url);
    c.ws.send(Buffer.alloc(1000, 1));
    await c.waitForBytes(1000);
    c.ws.send(Buffer.alloc(1001, 1));
    expect((await withTimeout(c.closed, 5000, 'close')).code).toBe(1009);
  });

  it('server close: clients get 1001 "Going away" and targets are ended', async () => {
    const sink = await sinkTarget();
    defer(() => sink.close());
    const p = await startProxy({ target: `127.0.0.1:${sink.port}` });
    const clients = await Promise.all([openClient(p.url), openClient(p.url)]);
    for (const c of clients) c.ws.send(Buffer.from('x'));
    await eventually(
      () => sink.connections.length >= 2 && sink.received(1).length >= 1 && sink.received(0).length >= 1,
      'both targets connected',
    );
    await p.server.close();
    for (const c of clients) expect(await c.closed).toEqual({ code: 1001, reason: 'Going away' });
    await withTimeout(Promise.all([sink.ended(0), sink.ended(1)]), 5000, 'targets ended');
    await expect(openClient(p.url, undefined, 1000)).rejects.toThrow();
  });
});

describe('base64 mode', () => {
  it('sends text frames of base64 and decodes base64 from the client', async () => {
    const { url } = await proxyTo(await echo());
    const c = await openClient(url, 'base64');
    expect(c.ws.protocol).toBe('base64');
    const data = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    c.ws.send(data.toString('base64'));
    const reply = await withTimeout(
      new Promise<string>((resolve) =>
        c.ws.once('message', (d, isBinary) => resolve(isBinary ? 'binary!' : d.toString())),
      ),
      5000,
      'reply',
    );
    expect(Buffer.from(reply, 'base64').equals(data)).toBe(true);
    c.ws.close();
  });

  it('invalid base64 from the client closes with 1007', async () => {
    const { url } = await proxyTo(await echo());
    const c = await openClient(url, 'base64');
    c.ws.send('not base64!');
    expect(await withTimeout(c.closed, 5000, 'close')).toEqual({ code: 1007, reason: 'Invalid base64 payload' });
  });
});

describe('WebSocket client library compatibility', () => {
  it('a client that answers pings keeps the session (ws autoPong)', async () => {
    const target = await echo();
    const p = await startProxy({ target: `127.0.0.1:${target.port}`, heartbeat: 0.1 });
    defer(() => p.server.close());
    const c = await openClient(p.url);
    let pings = 0;
    c.ws.on('ping', () => (pings += 1));
    // Two unanswered intervals would drop it: four pings are past that, on the proxy's clock.
    await eventually(
      () => pings >= 4,
      () => `4 pings (have ${pings})`,
    );
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
  });
});
