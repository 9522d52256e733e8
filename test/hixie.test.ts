// Legacy Hixie-75 and Hixie-76 clients, written here over raw TCP sockets: the Hixie-76 key
// challenge (the draft's own example and keys computed here), the 101 headers, base64 data
// frames both ways byte-exact through real targets (split across reads, several per read),
// key3 arriving late, close frames in both directions, bad keys, oversized and unknown frames,
// target selection applying to legacy clients, and recording of a Hixie session.

import { describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { UpgradeRefused, type WebsockifyOptions } from '../src/index.js';
import { openClient, rawExchange } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { eventually, sleep, withTimeout } from './helpers/wait.js';
import { defer } from './helpers/cleanup.js';
import { finishedRecording } from './helpers/recording.js';
import { echoTarget, sinkTarget, sourceTarget, type TestTarget } from './helpers/targets.js';

// The example handshake of draft-hixie-thewebsocketprotocol-76, section 1.3.
const DRAFT_KEY1 = '4 @1  46546xW%0l 1 5';
const DRAFT_KEY2 = '12998 5 Y3 1  .P00';
const DRAFT_KEY3 = Buffer.from('^n:ds[4U', 'latin1');
const DRAFT_ANSWER = Buffer.from("8jKS'y:G*Co,Wxa-", 'latin1');

/**
 * A Hixie-76 key standing for `n`: the digits of n * spaces with letters mixed in and the
 * spaces inside (never first or last, as the draft says: HTTP trims those).
 */
function makeKey(n: number, spaces: number): string {
  const chars = String(n * spaces)
    .split('')
    .flatMap((d, i) => (i % 2 === 0 ? [d, 'x'] : [d]));
  for (let i = 0; i < spaces; i++) chars.splice(1 + (i % (chars.length - 1)), 0, ' ');
  return chars.join('');
}

/** The expected challenge answer, from the draft's rules. */
function answerFor(n1: number, n2: number, key3: Buffer): Buffer {
  const input = Buffer.alloc(16);
  input.writeUInt32BE(n1, 0);
  input.writeUInt32BE(n2, 4);
  key3.copy(input, 8);
  return createHash('md5').update(input).digest();
}

function hixieRequest(
  port: number,
  opts: { path?: string; keys?: [string, string] | undefined; protocolHeader?: string } = {},
): string {
  const lines = [
    `GET ${opts.path ?? '/'} HTTP/1.1`,
    'Upgrade: WebSocket',
    'Connection: Upgrade',
    `Host: 127.0.0.1:${port}`,
    'Origin: http://example.com',
  ];
  if (opts.protocolHeader) lines.push(opts.protocolHeader);
  if (opts.keys) lines.push(`Sec-WebSocket-Key1: ${opts.keys[0]}`, `Sec-WebSocket-Key2: ${opts.keys[1]}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

const frame = (text: string): Buffer =>
  Buffer.concat([Buffer.from([0]), Buffer.from(text, 'latin1'), Buffer.from([0xff])]);
const dataFrame = (bytes: Buffer): Buffer => frame(bytes.toString('base64'));

/** A raw Hixie client: the 101 head, then frames parsed as they arrive. */
interface HixieTestClient {
  socket: net.Socket;
  /** The response head (status line and headers, without the blank line). */
  head: string;
  /** The 16 bytes after the head (Hixie-76). */
  answer: Buffer;
  /** Decoded payload bytes of every data frame so far. */
  bytes(): Buffer;
  waitForBytes(n: number, ms?: number): Promise<Buffer>;
  /** True once the server sent `0xFF 0x00`. */
  sawClose(): boolean;
  /** Resolves when the TCP connection is closed. */
  closed: Promise<void>;
}

async function connectHixie(port: number, writes: (Buffer | string)[], answerBytes: number): Promise<HixieTestClient> {
  const socket = net.connect(port, '127.0.0.1');
  defer(() => socket.destroy());
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  let buffer = Buffer.alloc(0);
  let headDone: ((v: { head: string; answer: Buffer }) => void) | undefined;
  const headPromise = new Promise<{ head: string; answer: Buffer }>((r) => (headDone = r));
  const payload: Buffer[] = [];
  let closeSeen = false;
  let inHead = true;
  const parseFrames = (): void => {
    for (;;) {
      if (buffer.length >= 2 && buffer[0] === 0xff && buffer[1] === 0x00) {
        closeSeen = true;
        buffer = buffer.subarray(2);
        continue;
      }
      if (buffer.length === 0 || buffer[0] !== 0x00) return;
      const end = buffer.indexOf(0xff);
      if (end === -1) return;
      payload.push(Buffer.from(buffer.subarray(1, end).toString('latin1'), 'base64'));
      buffer = buffer.subarray(end + 1);
    }
  };
  socket.on('data', (d: Buffer) => {
    buffer = Buffer.concat([buffer, d]);
    if (inHead) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1 || buffer.length < end + 4 + answerBytes) return;
      inHead = false;
      headDone!({
        head: buffer.subarray(0, end).toString('latin1'),
        answer: buffer.subarray(end + 4, end + 4 + answerBytes),
      });
      buffer = buffer.subarray(end + 4 + answerBytes);
    }
    parseFrames();
  });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  for (const w of writes) {
    socket.write(w);
    if (writes.length > 1) await sleep(50);
  }
  const { head, answer } = await withTimeout(headPromise, 5000, 'hixie response');
  const bytes = (): Buffer => Buffer.concat(payload);
  return {
    socket,
    head,
    answer,
    bytes,
    waitForBytes: (n, ms = 10000) =>
      eventually(
        () => bytes().length >= n && bytes(),
        () => `${n} bytes from the proxy (have ${bytes().length})`,
        {
          ms,
        },
      ),
    sawClose: () => closeSeen,
    closed,
  };
}

async function echo(): Promise<TestTarget> {
  const t = await echoTarget();
  defer(() => t.close());
  return t;
}

async function proxy(options: WebsockifyOptions): Promise<Awaited<ReturnType<typeof startProxy>>> {
  const p = await startProxy({ closeTimeout: 2, handshakeTimeout: 2, ...options });
  defer(() => p.server.close());
  return p;
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

describe('Hixie-76', () => {
  it("answers the draft's example handshake with the draft's answer and the -76 headers", async () => {
    const target = await echo();
    const p = await proxy({ target: `127.0.0.1:${target.port}` });
    const request = hixieRequest(p.port, {
      path: '/demo?x=1',
      keys: [DRAFT_KEY1, DRAFT_KEY2],
      protocolHeader: 'Sec-WebSocket-Protocol: base64',
    });
    const c = await connectHixie(p.port, [Buffer.concat([Buffer.from(request), DRAFT_KEY3])], 16);
    expect(c.head.split('\r\n')).toEqual([
      'HTTP/1.1 101 WebSocket Protocol Handshake',
      'Upgrade: WebSocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Origin: http://example.com',
      `Sec-WebSocket-Location: ws://127.0.0.1:${p.port}/demo?x=1`,
      'Sec-WebSocket-Protocol: base64',
    ]);
    expect(c.answer.equals(DRAFT_ANSWER)).toBe(true);
  });

  it('carries all byte values and 100 KB of random data both ways, byte-exact, as base64 frames', async () => {
    const target = await echo();
    const p = await proxy({ target: `127.0.0.1:${target.port}` });
    const key3 = randomBytes(8);
    const [n1, n2] = [123456789, 4000000000];
    const request = hixieRequest(p.port, { keys: [makeKey(n1, 4), makeKey(n2, 1)] });
    const c = await connectHixie(p.port, [Buffer.concat([Buffer.from(request), key3])], 16);
    expect(c.answer.equals(answerFor(n1, n2, key3))).toBe(true);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const random = randomBytes(100 * 1024);
    c.socket.write(dataFrame(all));
    c.socket.write(dataFrame(random));
    const back = await c.waitForBytes(all.length + random.length);
    expect(back.equals(Buffer.concat([all, random]))).toBe(true);
  });

  it('accepts key3 arriving after the headers, in pieces', async () => {
    const target = await echo();
    const p = await proxy({ target: `127.0.0.1:${target.port}` });
    const key3 = Buffer.from('12345678');
    const request = hixieRequest(p.port, { keys: [makeKey(7, 2), makeKey(99, 3)] });
    const c = await connectHixie(p.port, [request, key3.subarray(0, 3), key3.subarray(3)], 16);
    expect(c.answer.equals(answerFor(7, 99, key3))).toBe(true);
    c.socket.write(dataFrame(Buffer.from('late key')));
    expect((await c.waitForBytes(8)).toString()).toBe('late key');
  });

  it('reassembles frames split across reads and splits several frames in one read', async () => {
    const sink = await sinkTarget();
    defer(() => sink.close());
    const p = await proxy({ target: `127.0.0.1:${sink.port}` });
    const request = hixieRequest(p.port, { keys: [makeKey(1, 1), makeKey(2, 2)] });
    const c = await connectHixie(p.port, [Buffer.concat([Buffer.from(request), Buffer.alloc(8)])], 16);
    const parts = [Buffer.from('first,'), Buffer.from('second,'), Buffer.from('third,'), Buffer.from('fourth')];
    // One frame a byte at a time, then three frames (one of them empty) in a single write.
    for (const byte of dataFrame(parts[0]!)) {
      c.socket.write(Buffer.from([byte]));
      await sleep(2);
    }
    c.socket.write(Buffer.concat([dataFrame(parts[1]!), frame(''), dataFrame(parts[2]!), dataFrame(parts[3]!)]));
    const expected = Buffer.concat(parts);
    await eventually(() => sink.received().length >= expected.length, 'data at the target', { ms: 5000 });
    expect(sink.received().equals(expected)).toBe(true);
  });

  it.each([
    ['a key without spaces', ['12345', makeKey(2, 2)]],
    ['a key whose number is not a multiple of its spaces', ['1 1 1', makeKey(2, 2)]],
    ['a key with no digits', ['a b c', makeKey(2, 2)]],
    ['a key above 32 bits', [makeKey(2 ** 32, 1), makeKey(2, 2)]],
  ])('%s gets 400 and no target connection', async (_what, keys) => {
    const target = await echo();
    const p = await proxy({ target: `127.0.0.1:${target.port}` });
    const response = await rawExchange(
      p.port,
      Buffer.concat([Buffer.from(hixieRequest(p.port, { keys: keys as [string, string] })), Buffer.alloc(8)]),
    );
    expect(statusOf(response)).toBe(400);
    expect(response).toMatch(/Invalid or missing sec-websocket-key1 header/);
    expect(target.connections).toHaveLength(0);
  });

  it('a missing Sec-WebSocket-Key2 gets 400', async () => {
    const target = await echo();
    const p = await proxy({ target: `127.0.0.1:${target.port}` });
    const request = hixieRequest(p.port).replace('\r\n\r\n', `\r\nSec-WebSocket-Key1: ${makeKey(5, 5)}\r\n\r\n`);
    const response = await rawExchange(p.port, Buffer.concat([Buffer.from(request), Buffer.alloc(8)]));
    expect(statusOf(response)).toBe(400);
    expect(response).toMatch(/Invalid or missing sec-websocket-key2 header/);
  });

  it('a client that never sends key3 is dropped at the handshake deadline', async () => {
    const target = await echo();
    const p = await proxy({ target: `127.0.0.1:${target.port}`, handshakeTimeout: 0.5 });
    const request = hixieRequest(p.port, { keys: [makeKey(1, 1), makeKey(2, 2)] });
    const response = await rawExchange(p.port, Buffer.concat([Buffer.from(request), Buffer.alloc(5)]), 5000);
    expect(response).toBe('');
    expect(p.server.sessionCount).toBe(0);
  });
});

describe('Hixie-75', () => {
  it('answers with the -75 headers and no challenge, and carries data both ways', async () => {
    const target = await echo();
    const p = await proxy({ target: `127.0.0.1:${target.port}` });
    const request = hixieRequest(p.port, { path: '/old', protocolHeader: 'WebSocket-Protocol: base64' });
    const c = await connectHixie(p.port, [request], 0);
    expect(c.head.split('\r\n')).toEqual([
      'HTTP/1.1 101 Web Socket Protocol Handshake',
      'Upgrade: WebSocket',
      'Connection: Upgrade',
      'WebSocket-Origin: http://example.com',
      `WebSocket-Location: ws://127.0.0.1:${p.port}/old`,
      'WebSocket-Protocol: base64',
    ]);
    const data = Buffer.from([0, 1, 0xfe, 0xff, 0x27, 0x5c, 0x0a]);
    c.socket.write(dataFrame(data));
    expect((await c.waitForBytes(data.length)).equals(data)).toBe(true);
  });
});

describe('closing', () => {
  it("the client's close frame is answered with one, and the target is ended", async () => {
    const sink = await sinkTarget();
    defer(() => sink.close());
    const p = await proxy({ target: `127.0.0.1:${sink.port}` });
    const c = await connectHixie(p.port, [hixieRequest(p.port)], 0);
    c.socket.write(Buffer.concat([dataFrame(Buffer.from('bye')), Buffer.from([0xff, 0x00])]));
    await withTimeout(sink.ended(), 5000, 'target end');
    expect(sink.received().toString()).toBe('bye');
    await withTimeout(c.closed, 5000, 'client connection closed');
    expect(c.sawClose()).toBe(true);
  });

  it('a close frame split across reads is still a close', async () => {
    const sink = await sinkTarget();
    defer(() => sink.close());
    const p = await proxy({ target: `127.0.0.1:${sink.port}` });
    const c = await connectHixie(p.port, [hixieRequest(p.port)], 0);
    c.socket.write(Buffer.from([0xff]));
    await sleep(50);
    c.socket.write(Buffer.from([0x00]));
    await withTimeout(c.closed, 5000, 'client connection closed');
    expect(c.sawClose()).toBe(true);
  });

  it('a target that closes sends the client its data, then a close frame', async () => {
    const greeting = Buffer.from('RFB 003.008\n');
    const source = await sourceTarget(greeting);
    defer(() => source.close());
    const p = await proxy({ target: `127.0.0.1:${source.port}` });
    const c = await connectHixie(p.port, [hixieRequest(p.port)], 0);
    expect((await c.waitForBytes(greeting.length)).equals(greeting)).toBe(true);
    await withTimeout(c.closed, 5000, 'client connection closed');
    expect(c.sawClose()).toBe(true);
  });
});

describe('bad frames', () => {
  it.each([
    ['a frame larger than maxMessageSize', frame('A'.repeat(3000))],
    ['an unterminated frame larger than maxMessageSize', frame('A'.repeat(3000)).subarray(0, 2500)],
    ['an unknown frame type', Buffer.from([0x80, 0x05, 1, 2, 3, 4, 5])],
    ['invalid base64', frame('not base64!')],
  ])('%s closes the connection; the target gets nothing; the proxy still serves', async (_what, bytes) => {
    const sink = await sinkTarget();
    defer(() => sink.close());
    const p = await proxy({ target: `127.0.0.1:${sink.port}`, maxMessageSize: 2048 });
    const c = await connectHixie(p.port, [hixieRequest(p.port)], 0);
    c.socket.write(bytes);
    await withTimeout(c.closed, 5000, 'client connection closed');
    expect(sink.received().length).toBe(0);
    const ok = await connectHixie(p.port, [hixieRequest(p.port)], 0);
    ok.socket.write(dataFrame(Buffer.from('fine')));
    await eventually(() => sink.received(1).length >= 4, 'second client data', { ms: 5000 });
    expect(sink.received(1).toString()).toBe('fine');
  });
});

describe('with the rest of the proxy', () => {
  it('target selection applies to legacy clients too (and its refusals)', async () => {
    const a = await echo();
    const p = await proxy({
      resolveTarget: (req) => {
        if (req.url === '/a') return { kind: 'tcp', host: '127.0.0.1', port: a.port };
        throw new UpgradeRefused(403, 'no such target');
      },
    });
    const c = await connectHixie(p.port, [hixieRequest(p.port, { path: '/a' })], 0);
    c.socket.write(dataFrame(Buffer.from('to a')));
    expect((await c.waitForBytes(4)).toString()).toBe('to a');
    expect(a.connections).toHaveLength(1);
    const refused = await rawExchange(p.port, hixieRequest(p.port, { path: '/b' }));
    expect(statusOf(refused)).toBe(403);
    // RFC 6455 clients are unaffected.
    const modern = await openClient(`${p.url}/a`);
    modern.ws.send(Buffer.from('ok'));
    expect((await modern.waitForBytes(2)).toString()).toBe('ok');
    modern.ws.terminate();
  });

  it('a Hixie session is recorded as the decoded bytes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'websockify-hixie-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const target = await echo();
    const p = await proxy({ target: `127.0.0.1:${target.port}`, record: path.join(dir, 'rec') });
    const c = await connectHixie(p.port, [hixieRequest(p.port)], 0);
    c.socket.write(dataFrame(Buffer.from("it's \\ here")));
    await c.waitForBytes(11);
    c.socket.write(Buffer.from([0xff, 0x00]));
    await withTimeout(c.closed, 5000, 'closed');
    const text = await finishedRecording(path.join(dir, 'rec.1'));
    expect(text.replace(/^'([{}])\d+\1/gm, "'$1MS$1")).toBe(
      "var VNC_frame_data = [\n'}MS}it\\'s \\\\ here',\n'{MS{it\\'s \\\\ here',\n'EOF'];\n",
    );
  });
});
