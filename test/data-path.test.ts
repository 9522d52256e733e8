// The data path end to end, against a real proxy on loopback: byte-exact streams of every size
// class cut at random points, both read paths (reused buffers and the `data` fallback), base64,
// TLS on both sides, slow peers while read buffers are pinned, many concurrent streams, the
// frame size cap, and the lifetimes that depend on the data path (close handshake, a target
// that stops reading, heartbeat with slow readers, target connect timeout).

import { describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import WebSocket from 'ws';
import type { WebsockifyOptions } from '../src/index.js';
import { makeTestPki } from './helpers/certs.js';
import { defer } from './helpers/cleanup.js';
import { upgradeRequest } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { closePayload, encodeFrame, rawWebSocket, type RawWebSocket } from './helpers/raw-websocket.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { recordingLogger, tempDir } from './helpers/plugins.js';
import { blackhole, echoTarget, slowEchoTarget, sourceTarget, type TestTarget } from './helpers/targets.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

async function echo(): Promise<TestTarget> {
  const t = await echoTarget();
  defer(() => t.close());
  return t;
}

async function proxy(options: WebsockifyOptions) {
  const logger = recordingLogger();
  const p = await startProxy({ logger, ...options });
  defer(() => p.server.close());
  return { ...p, logger };
}

/** Frames carrying `payloads`: some fragmented at random, each with a random mask. */
function framesFor(payloads: Buffer[], rand: () => number, opcode = 2): Buffer {
  const frames: Buffer[] = [];
  for (const p of payloads) {
    const pieces = rand() < 0.5 ? 1 : 2 + Math.floor(rand() * 4);
    let at = 0;
    for (let i = 0; i < pieces; i++) {
      const end = i === pieces - 1 ? p.length : at + Math.floor(rand() * (p.length - at + 1));
      frames.push(encodeFrame(i === 0 ? opcode : 0, p.subarray(at, end), { fin: i === pieces - 1 }));
      at = end;
    }
  }
  return Buffer.concat(frames);
}

/** Writes `stream` in pieces of random size, yielding to the event loop between some of them. */
async function writeInPieces(socket: net.Socket, stream: Buffer, rand: () => number): Promise<void> {
  let at = 0;
  while (at < stream.length) {
    const n = 1 + Math.floor(rand() * (rand() < 0.3 ? 16 : 300_000));
    const ok = socket.write(stream.subarray(at, at + n));
    at += n;
    if (!ok) await new Promise((r) => socket.once('drain', r));
    else if (rand() < 0.3) await new Promise((r) => setImmediate(r));
  }
}

const MiB = 1024 * 1024;
const SIZES = [1, 7, 125, 126, 65535, 65536, 65537, 256 * 1024 + 1, MiB + 3, 8 * MiB];

async function binaryIntegrity(port: number, seed: number): Promise<void> {
  const rand = seeded(seed);
  const payloads = SIZES.map((n) => crypto.randomBytes(n));
  const all = Buffer.concat(payloads);
  const r = await rawWebSocket(port, { protocol: 'binary', keep: all.length + 1 });
  defer(() => r.destroy());
  await writeInPieces(r.socket, framesFor(payloads, rand), rand);
  await r.waitForPayload(all.length, 60000);
  expect(r.received()).toBe(all.length);
  expect(r.kept().equals(all)).toBe(true);
}

describe('byte-exact streams', () => {
  it.each([1, 2])(
    'sizes 1 B to 8 MiB, fragmented or not, cut at random points, echoed exactly (seed %i)',
    async (seed) => {
      const { port, logger } = await proxy({ target: `127.0.0.1:${(await echo()).port}` });
      await binaryIntegrity(port, seed);
      expect(logger.lines.some((l) => l.includes('reading the client into reused buffers'))).toBe(true);
    },
  );

  it('the same through the data-event fallback (WEBSOCKIFY_READ_FALLBACK=1)', async () => {
    const { port, logger } = await proxy({ target: `127.0.0.1:${(await echo()).port}` });
    process.env.WEBSOCKIFY_READ_FALLBACK = '1';
    defer(() => delete process.env.WEBSOCKIFY_READ_FALLBACK);
    await binaryIntegrity(port, 3);
    expect(logger.lines.some((l) => l.includes('reading the client from data events'))).toBe(true);
    expect(logger.lines.some((l) => l.includes('reused buffers'))).toBe(false);
  });

  it('base64: text messages decoded as they stream in, target bytes sent as base64 messages', async () => {
    const { url } = await proxy({ target: `127.0.0.1:${(await echo()).port}` });
    const rand = seeded(4);
    const payloads = SIZES.slice(0, 9).map((n) => crypto.randomBytes(n));
    const all = Buffer.concat(payloads);
    const ws = new WebSocket(url, 'base64');
    defer(() => ws.terminate());
    const got: Buffer[] = [];
    let total = 0;
    ws.on('message', (m: Buffer, binary: boolean) => {
      expect(binary).toBe(false);
      const text = m.toString('latin1');
      expect(text).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
      const bytes = Buffer.from(text, 'base64');
      got.push(bytes);
      total += bytes.length;
    });
    await new Promise((r) => ws.once('open', r));
    for (const p of payloads) {
      // Each message on its own, some fragmented: groups of 4 characters span fragments.
      const text = Buffer.from(p.toString('base64'));
      const cut = Math.floor(rand() * text.length);
      if (rand() < 0.5) {
        ws.send(text.subarray(0, cut), { binary: false, fin: false });
        ws.send(text.subarray(cut), { binary: false, fin: true });
      } else {
        ws.send(text, { binary: false });
      }
    }
    await eventually(() => total >= all.length, 'all bytes back', { ms: 60000 });
    expect(Buffer.concat(got).equals(all)).toBe(true);
  });

  it('no frame to the client is larger than --max-frame-size (binary and base64)', async () => {
    const data = crypto.randomBytes(3 * MiB);
    const source = await sourceTarget(data);
    defer(() => source.close());
    const { url } = await proxy({ target: `127.0.0.1:${source.port}`, maxFrameSize: 20000 });
    for (const protocol of ['binary', 'base64']) {
      const ws = new WebSocket(url, protocol);
      defer(() => ws.terminate());
      const parts: Buffer[] = [];
      let largest = 0;
      ws.on('message', (m: Buffer) => {
        largest = Math.max(largest, m.length);
        parts.push(protocol === 'base64' ? Buffer.from(m.toString('latin1'), 'base64') : Buffer.from(m));
      });
      const closed = new Promise((r) => ws.once('close', r));
      await withTimeout(closed, 30000, 'target close');
      expect(largest).toBeLessThanOrEqual(20000);
      expect(largest).toBeGreaterThan(10000);
      expect(Buffer.concat(parts).equals(data)).toBe(true);
    }
  });

  it('1,000 concurrent streams, binary and base64, checksummed both ways', async () => {
    const { url, server } = await proxy({ target: `127.0.0.1:${(await echo()).port}` });
    const one = async (i: number): Promise<void> => {
      const protocol = i % 2 ? 'binary' : 'base64';
      const sent = crypto.randomBytes(20000 + (i % 7) * 3001);
      const ws = new WebSocket(url, protocol);
      ws.on('error', () => {});
      const hash = crypto.createHash('sha256');
      let total = 0;
      const done = new Promise<void>((resolve) =>
        ws.on('message', (m: Buffer) => {
          const bytes = protocol === 'base64' ? Buffer.from(m.toString('latin1'), 'base64') : m;
          hash.update(bytes);
          total += bytes.length;
          if (total >= sent.length) resolve();
        }),
      );
      await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
      for (let at = 0; at < sent.length; at += 7000) {
        const piece = sent.subarray(at, at + 7000);
        ws.send(protocol === 'base64' ? piece.toString('base64') : piece);
      }
      await done;
      expect(total).toBe(sent.length);
      expect(hash.digest('hex')).toBe(crypto.createHash('sha256').update(sent).digest('hex'));
      ws.close();
    };
    await withTimeout(Promise.all(Array.from({ length: 1000 }, (_, i) => one(i))), 120000, '1,000 streams');
    await eventually(() => server.sessionCount === 0, 'all sessions ended');
  }, 180000);
});

/** Reads `r` in fits and starts, so writes toward the client queue up too. */
function readSlowly(r: RawWebSocket): void {
  const reader = setInterval(() => {
    r.socket.pause();
    setTimeout(() => r.socket.resume(), 3);
  }, 5);
  defer(() => clearInterval(reader));
}

/**
 * Messages of `sizes` (random bytes, fragmented and cut at random by `seed`) through the proxy
 * on `port`, read back slowly; checks they come back exactly, then closes.
 */
async function slowStream(port: number, seed: number, sizes: number[]): Promise<void> {
  const rand = seeded(seed);
  const payloads = sizes.map((n) => crypto.randomBytes(n));
  const all = Buffer.concat(payloads);
  const r = await rawWebSocket(port, { protocol: 'binary', keep: all.length + 1 });
  defer(() => r.destroy());
  readSlowly(r);
  await writeInPieces(r.socket, framesFor(payloads, rand), rand);
  await r.waitForPayload(all.length, 90000);
  expect(r.kept().equals(all)).toBe(true);
  r.destroy();
}

describe('read buffers shared over sessions', () => {
  it('sessions that end hand their buffers on: the sessions still open and the next ones stay byte-exact', async () => {
    // One proxy, a slow target and slow readers, so read buffers are often pinned: two long
    // streams run while 12 short ones (each big enough to grow its buffers) start, finish and
    // close. Buffers of closed sessions go to the pool and are read into by the others; one
    // handed on while its bytes were still queued would corrupt them.
    const { port } = await proxy({ target: `127.0.0.1:${(await slowEchoTarget()).port}` });
    const long = [11, 12].map((seed) => slowStream(port, seed, [6 * MiB, 300_000, 2 * MiB + 5]));
    for (let round = 0; round < 4; round++) {
      await Promise.all([0, 1, 2].map((i) => slowStream(port, 100 + round * 3 + i, [MiB + i, 700_000, 65537])));
    }
    await Promise.all(long);
  }, 180000);
});

describe('TLS on both sides', () => {
  it('wss client to a --ssl-target target: byte-exact both ways (the data-event path)', async () => {
    const pki = await makeTestPki();
    defer(() => pki.remove());
    const target = tls.createServer(
      { cert: await readFile(pki.server.cert), key: await readFile(pki.server.key) },
      (s) => {
        s.on('error', () => {});
        s.pipe(s);
      },
    );
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    defer(() => new Promise((r) => target.close(r)));
    const { port, logger } = await proxy({
      target: `localhost:${(target.address() as net.AddressInfo).port}`,
      targetTls: { cafile: pki.ca },
      tls: { cert: pki.server.cert, key: pki.server.key },
    });
    const sent = crypto.randomBytes(6 * MiB + 5);
    const ws = new WebSocket(`wss://localhost:${port}/`, 'binary', { ca: readFileSync(pki.ca) });
    defer(() => ws.terminate());
    const got: Buffer[] = [];
    let total = 0;
    ws.on('message', (m: Buffer) => {
      got.push(m);
      total += m.length;
    });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    for (let at = 0; at < sent.length; at += 100_000) ws.send(sent.subarray(at, at + 100_000));
    await eventually(() => total >= sent.length, 'echo', { ms: 60000 });
    expect(Buffer.concat(got).equals(sent)).toBe(true);
    expect(logger.lines.some((l) => l.includes('reading the client from data events'))).toBe(true);
  }, 60000);
});

describe('slow peers while read buffers are pinned', () => {
  it('a slow target and a slow client: every byte arrives, in order', async () => {
    // The target reads in small steps and echoes; the client reads in small steps too.
    const { port } = await proxy({ target: `127.0.0.1:${(await slowEchoTarget()).port}` });
    await slowStream(port, 7, [4 * MiB, 300_000, 17]);
  }, 120000);
});

describe('lifetimes on the data path', () => {
  /** A hand-made client that never closes its socket, even after the server's FIN. */
  async function stubbornClient(port: number): Promise<{ socket: net.Socket; received: () => Buffer }> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    defer(() => socket.destroy());
    let got = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    await new Promise((r) => socket.once('connect', r));
    socket.write(upgradeRequest('/', ['Sec-WebSocket-Protocol: binary']));
    await eventually(() => got.includes('\r\n\r\n'), '101', { ms: 5000 });
    return { socket, received: () => got.subarray(got.indexOf('\r\n\r\n') + 4) };
  }

  it.each(['client', 'server'])(
    'closing started by the %s: the session, its counters and its recording end when the close frames have crossed, though the client keeps its socket open',
    async (who) => {
      const dir = tempDir();
      const target = who === 'client' ? await echo() : await sourceTarget(Buffer.from('hello'));
      defer(() => target.close());
      const { port, server } = await proxy({
        target: `127.0.0.1:${target.port}`,
        record: path.join(dir, 'rec'),
        closeTimeout: 60,
      });
      const ended: number[] = [];
      server.on('session-end', (s) => ended.push(s.closeCode));
      const c = await stubbornClient(port);
      if (who === 'client') c.socket.write(encodeFrame(2, 'hello'));
      await eventually(() => c.received().includes('hello'), 'data', { ms: 5000 });
      if (who === 'client') c.socket.write(encodeFrame(8, closePayload(1000, 'bye')));
      await eventually(() => c.received().includes(Buffer.from([0x88])), 'close frame', { ms: 5000 });
      if (who === 'server') c.socket.write(encodeFrame(8, closePayload(1000)));
      // The client never closes; the close timeout is 60 s; this waits at most 10.
      await eventually(() => ended.length === 1, 'session end', { ms: 10000 });
      expect(ended).toEqual([1000]);
      expect(server.sessionCount).toBe(0);
      await eventually(() => c.socket.readableEnded, 'server ends its side', { ms: 10000 });
      await eventually(
        () => {
          try {
            return readFileSync(path.join(dir, 'rec.1'), 'latin1').endsWith("'EOF'];\n");
          } catch {
            return false;
          }
        },
        'footer',
        { ms: 10000 },
      );
    },
  );

  it('clients that left while the target read nothing release their sessions', async () => {
    // A target that accepts and never reads: the proxy stops reading each client behind it.
    const held: net.Socket[] = [];
    const deaf = net.createServer((c) => {
      held.push(c);
      c.on('error', () => {});
      c.pause();
    });
    await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', r));
    defer(() => new Promise((r) => (held.forEach((c) => c.destroy()), deaf.close(r))));
    const { port, server } = await proxy({
      target: `127.0.0.1:${(deaf.address() as net.AddressInfo).port}`,
      closeTimeout: 1,
    });
    const clients: RawWebSocket[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await rawWebSocket(port, { protocol: 'binary' });
      clients.push(r);
      defer(() => r.destroy());
      // Far more than the target's socket buffers take (the proxy stops reading this client
      // behind it), in 1 MiB messages, then a close frame behind them.
      const payloads = Array.from({ length: 12 }, () => crypto.randomBytes(MiB));
      r.socket.write(Buffer.concat([framesFor(payloads, seeded(i)), encodeFrame(8, closePayload(1000))]));
    }
    await eventually(() => server.sessionCount === 6 && held.length === 6, 'sessions up');
    // Half vanish outright; half send a FIN after their close frame.
    clients.forEach((c, i) => (i % 2 ? c.socket.end() : c.destroy()));
    await eventually(() => server.sessionCount === 0, 'sessions released', { ms: 30000 });
    // The proxy closed its target connections: reading them now ends in EOF or a reset.
    held.forEach((c) => c.resume());
    await eventually(() => held.every((c) => c.destroyed || c.readableEnded), 'target sockets closed', { ms: 10000 });
  }, 60000);

  it('a target that stalls past the probe and then reads: what it gets is byte-exact (the probe never reads into a pinned buffer)', async () => {
    // The proxy's read buffer for this client holds bytes queued toward the paused target when
    // the stall probe starts reading the client again; that read must go elsewhere.
    let conn: net.Socket | undefined;
    const got: Buffer[] = [];
    const deaf = net.createServer((c) => {
      conn = c;
      c.on('error', () => {});
      c.on('data', (d) => got.push(d));
      c.pause();
    });
    await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', r));
    defer(() => new Promise((r) => (conn?.destroy(), deaf.close(r))));
    const { port, logger } = await proxy({
      target: `127.0.0.1:${(deaf.address() as net.AddressInfo).port}`,
      closeTimeout: 1,
      // The probe may hold everything the client sent (nothing is dropped), so all must arrive.
      highWaterMark: 64 * MiB,
    });
    const r = await rawWebSocket(port, { protocol: 'binary' });
    defer(() => r.destroy());
    // More than the kernel buffers on the way take: the proxy holds the client behind it.
    const payloads = Array.from({ length: 16 }, () => crypto.randomBytes(MiB));
    const all = Buffer.concat(payloads);
    r.socket.write(framesFor(payloads, seeded(11)));
    await eventually(() => logger.lines.some((l) => l.includes('reading the client to see if it left')), 'the probe');
    const bytes = () => got.reduce((n, d) => n + d.length, 0);
    conn!.resume();
    let code: number | undefined;
    void r.closeFrame.then((f) => (code = f.code));
    await eventually(() => bytes() >= all.length || code !== undefined, 'all bytes, or a close', { ms: 30000 });
    const received = Buffer.concat(got);
    expect(code).toBeUndefined();
    expect(received.length).toBe(all.length);
    expect(received.equals(all)).toBe(true);
  }, 60000);

  it('--heartbeat keeps a slow reader that answers the pings it sees, though much is queued toward it', async () => {
    const data = crypto.randomBytes(8 * MiB);
    const source = await sourceTarget(data);
    defer(() => source.close());
    const { port } = await proxy({ target: `127.0.0.1:${source.port}`, heartbeat: 1 });
    const r = await rawWebSocket(port, { protocol: 'binary', keep: data.length + 1 });
    defer(() => r.destroy());
    // About 1 MB/s (a 64 KiB read every 60 ms): the pings wait behind megabytes; each one seen is answered.
    let answered = 0;
    const answer = setInterval(() => {
      while (answered < r.control.filter((f) => f.opcode === 9).length) {
        answered++;
        r.send(encodeFrame(0xa));
      }
    }, 10);
    defer(() => clearInterval(answer));
    let timer: NodeJS.Timeout | undefined;
    r.socket.on('data', () => {
      r.socket.pause();
      timer = setTimeout(() => r.socket.resume(), 60);
    });
    defer(() => clearTimeout(timer));
    await r.waitForPayload(data.length, 90000);
    expect(r.kept().equals(data)).toBe(true);
    expect(answered).toBeGreaterThanOrEqual(2);
    const close = await withTimeout(r.closeFrame, 10000, 'close');
    expect(close.code).toBe(1000); // "Target closed", not dropped for missing pongs
  }, 120000);
});

describe('target connect', () => {
  /** Our connections to `port` in SYN-SENT (state 02 in /proc/net/tcp). */
  function synSent(port: number): number {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    return readFileSync('/proc/net/tcp', 'latin1')
      .split('\n')
      .filter((line) => {
        const f = line.trim().split(/\s+/);
        return f[2]?.endsWith(`:${hex}`) && f[3] === '02';
      }).length;
  }

  it('a target that never answers: the client gets 1011 after --connect-timeout', async () => {
    const port = await blackhole();
    const { url, logger } = await proxy({ target: `127.0.0.1:${port}`, connectTimeout: 1 });
    const before = synSent(port);
    const ws = new WebSocket(url, 'binary');
    defer(() => ws.terminate());
    ws.on('error', () => {});
    const closed = new Promise<[number, string]>((r) => ws.once('close', (c, why) => r([c, why.toString()])));
    expect(await withTimeout(closed, 15000, '1011')).toEqual([1011, 'Failed to connect to downstream server']);
    expect(logger.lines.some((l) => l.includes('ETIMEDOUT'))).toBe(true);
    await eventually(() => synSent(port) === before, 'connect abandoned', { ms: 5000 });
  });

  it('a client that leaves while the connect is pending aborts it', async () => {
    const port = await blackhole();
    const { url, server } = await proxy({ target: `127.0.0.1:${port}`, connectTimeout: 120 });
    const before = synSent(port);
    const ws = new WebSocket(url, 'binary');
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    await eventually(() => synSent(port) === before + 1, 'connect pending', { ms: 5000 });
    ws.terminate();
    await eventually(() => server.sessionCount === 0, 'session ended', { ms: 10000 });
    await eventually(() => synSent(port) === before, 'connect aborted', { ms: 10000 });
  });
});
