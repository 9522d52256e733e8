// Byte-exact data in both directions, in binary and base64 mode, over TCP (IPv4 and IPv6) and
// unix-socket targets, and through the attach-to-an-existing-server API.

import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { attachWebsockify } from '../src/index.js';
import { openClient, type OpenClient } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { defer } from './helpers/cleanup.js';
import { echoTarget, sinkTarget, type TestTarget } from './helpers/targets.js';

async function echo(listen: { host?: string; path?: string } = {}): Promise<TestTarget> {
  const t = await echoTarget(listen);
  defer(() => t.close());
  return t;
}

const SIZES = [0, 1, 64 * 1024, 8 * 1024 * 1024];

/** Sends one message and reads the echo back, decoding base64 text when asked. */
async function roundTrip(c: OpenClient, data: Buffer, base64: boolean): Promise<Buffer> {
  if (data.length === 0) {
    // An empty message carries no bytes: nothing may come back, and the session stays usable.
    c.ws.send(base64 ? '' : data);
    return Buffer.alloc(0);
  }
  const before = c.messages.length;
  c.ws.send(base64 ? data.toString('base64') : data);
  return eventually(
    () => {
      const got = c.messages.slice(before);
      const bytes = Buffer.concat(got.map((m) => (typeof m === 'string' ? Buffer.from(m, 'base64') : m)));
      return bytes.length >= data.length && bytes;
    },
    `echo of ${data.length} bytes`,
    { ms: 20000, every: 5 },
  );
}

describe.each([
  ['binary', false],
  ['base64', true],
])('%s round trips', (protocol, base64) => {
  it.each(SIZES)('%d-byte messages come back byte-exact', async (size) => {
    const target = await echo();
    const p = await startProxy({ target: `127.0.0.1:${target.port}` });
    defer(() => p.server.close());
    const c = await openClient(p.url, protocol);
    const data = randomBytes(size);
    const back = await roundTrip(c, data, base64);
    expect(back.length).toBe(size);
    expect(back.equals(data)).toBe(true);
    // Every message to the client has the negotiated type.
    for (const m of c.messages) expect(typeof m === 'string').toBe(base64);
    // The session still works after it (including after an empty message).
    const tail = randomBytes(17);
    expect((await roundTrip(c, tail, base64)).subarray(-17).equals(tail)).toBe(true);
    c.ws.close();
  });
});

describe('targets', () => {
  it('relays to an IPv6 target from an IPv6 listener', async () => {
    const target = await echo({ host: '::1' });
    const p = await startProxy({ listen: { host: '::1', port: 0 }, target: `[::1]:${target.port}` });
    defer(() => p.server.close());
    const c = await openClient(`ws://[::1]:${p.port}/`);
    const data = randomBytes(100_000);
    expect((await roundTrip(c, data, false)).equals(data)).toBe(true);
    c.ws.close();
  });

  it('relays to a unix-socket target', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const target = await echo({ path: path.join(dir, 'echo.sock') });
    const p = await startProxy({ target: { kind: 'unix', path: target.path! } });
    defer(() => p.server.close());
    const c = await openClient(p.url);
    const data = randomBytes(300_000);
    expect((await roundTrip(c, data, false)).equals(data)).toBe(true);
    c.ws.close();
  });

  it('keeps client data sent before the target connection is up', async () => {
    const sink = await sinkTarget();
    defer(() => sink.close());
    const p = await startProxy({ target: `127.0.0.1:${sink.port}` });
    defer(() => p.server.close());
    const c = await openClient(p.url);
    const parts = Array.from({ length: 50 }, () => randomBytes(1000));
    for (const part of parts) c.ws.send(part); // sent at once, while the target still connects
    c.ws.close(1000);
    await withTimeout(sink.ended(0), 5000, 'target end');
    expect(sink.received(0).equals(Buffer.concat(parts))).toBe(true);
  });

  it('streams 64 MiB each way at once without loss or reordering', async () => {
    const target = await echo();
    const p = await startProxy({ target: `127.0.0.1:${target.port}` });
    defer(() => p.server.close());
    const c = await openClient(p.url);
    const chunk = randomBytes(64 * 1024);
    const total = 1024;
    let sent = 0;
    const pump = (): void => {
      while (sent < total && c.ws.bufferedAmount < 4 * 1024 * 1024) {
        const m = Buffer.from(chunk);
        m.writeUInt32BE(sent, 0);
        c.ws.send(m);
        sent += 1;
      }
      if (sent < total) setTimeout(pump, 1);
    };
    pump();
    const bytes = await c.waitForBytes(total * chunk.length, 60000);
    for (let i = 0; i < total; i++) {
      const piece = bytes.subarray(i * chunk.length, (i + 1) * chunk.length);
      expect(piece.readUInt32BE(0)).toBe(i);
      expect(piece.subarray(4).equals(chunk.subarray(4))).toBe(true);
    }
    c.ws.close();
  });
});

describe('attachWebsockify (mounting on an existing http server)', () => {
  it('proxies upgrades on its path and leaves other requests and paths to the app', async () => {
    const target = await echo();
    const app = http.createServer((_req, res) => res.end('app page'));
    const other: string[] = [];
    app.on('upgrade', (req, socket) => {
      if ((req.url ?? '').split('?')[0] !== '/ws') {
        other.push(req.url ?? '');
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      }
    });
    const attached = attachWebsockify(app, { path: '/ws', target: `127.0.0.1:${target.port}` });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    defer(() => new Promise<void>((r) => app.close(() => r())));
    defer(() => attached.close());
    const { port } = app.address() as { port: number };

    const page = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    expect(page).toBe('app page');
    await expect(openClient(`ws://127.0.0.1:${port}/elsewhere`)).rejects.toThrow('HTTP 404');
    expect(other).toEqual(['/elsewhere']);

    const c = await openClient(`ws://127.0.0.1:${port}/ws?x=1`);
    const data = randomBytes(5000);
    expect((await roundTrip(c, data, false)).equals(data)).toBe(true);
    expect(attached.sessionCount).toBe(1);
    const closed = c.closed;
    await attached.close();
    expect(await closed).toEqual({ code: 1001, reason: 'Going away' });
  });
});
