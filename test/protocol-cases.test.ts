// The protocol case table: hostile and borderline upgrade requests (request bytes -> expected
// status and headers) and frames after the upgrade (frame bytes -> the close code, or the echo
// and pong that must come back) against live servers on loopback, written as raw bytes so no
// client library tidies them up: they hold whatever parses frames inside. Every refusal must
// leave the target untouched. docs/reliability.md lists the cases with what the RFCs require.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { tokenResolver, type WebsockifyServer } from '../src/index.js';
import { startCliForTest } from './helpers/cli.js';
import { rawExchange } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { closePayload, encodeFrame, rawWebSocket } from './helpers/raw-websocket.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { echoTarget, type TestTarget } from './helpers/targets.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const TOKEN_HOST = 'vm1.example.org';

type ServerName = 'default' | 'strict' | 'hostToken';
const ports: Record<ServerName, number> = { default: 0, strict: 0, hostToken: 0 };
const servers: WebsockifyServer[] = [];
let target: TestTarget;

beforeAll(async () => {
  target = await echoTarget();
  const tcp = { kind: 'tcp' as const, host: '127.0.0.1', port: target.port };
  const start = async (name: ServerName, options: Parameters<typeof startProxy>[0]): Promise<void> => {
    const s = await startProxy(options);
    servers.push(s.server);
    ports[name] = s.port;
  };
  await start('default', { target: `127.0.0.1:${target.port}` });
  await start('strict', { target: `127.0.0.1:${target.port}`, legacy: false });
  const plugin = { lookup: (token: string) => (token === TOKEN_HOST ? tcp : undefined) };
  await start('hostToken', { resolveTarget: tokenResolver(plugin, { hostToken: true }) });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => withTimeout(s.close(), 10000, 'server close')));
  await target.close();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `request` and reads the answer: a refusal until the server closes, a 101 until its head
 * is complete (then the socket is dropped).
 */
function exchange(port: number, request: Buffer | string): Promise<Answer> {
  return withTimeout(
    new Promise<Answer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
      const finish = (): void => {
        const raw = Buffer.concat(chunks).toString('latin1');
        const split = raw.indexOf('\r\n\r\n');
        const head = (split === -1 ? raw : raw.slice(0, split)).split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        resolve({
          status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0),
          headers,
          body: split === -1 ? '' : raw.slice(split + 4),
        });
      };
      socket.on('data', (d: Buffer) => {
        chunks.push(d);
        const text = Buffer.concat(chunks).toString('latin1');
        if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) {
          socket.destroy();
          finish();
        }
      });
      socket.on('close', finish);
      socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    }),
    5000,
    `answer to ${JSON.stringify(request.toString().slice(0, 60))}`,
  );
}

/** An upgrade request: `line` is the request line; `headers` replace the defaults (null removes). */
function upgrade(line = 'GET / HTTP/1.1', headers: Record<string, string | string[] | null> = {}): string {
  const all: Record<string, string | string[] | null> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = [line];
  for (const [name, value] of Object.entries(all)) {
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  return lines.join('\r\n') + '\r\n\r\n';
}

const HIXIE75 = upgrade(undefined, {
  Upgrade: 'WebSocket',
  'Sec-WebSocket-Key': null,
  'Sec-WebSocket-Version': null,
  Origin: 'http://example.com',
});
// The example handshake of draft-hixie-thewebsocketprotocol-76, section 1.3: keys, then key3.
const HIXIE76 = Buffer.concat([
  Buffer.from(
    upgrade(undefined, {
      Upgrade: 'WebSocket',
      'Sec-WebSocket-Key': null,
      'Sec-WebSocket-Version': null,
      Origin: 'http://example.com',
      'Sec-WebSocket-Key1': '4 @1  46546xW%0l 1 5',
      'Sec-WebSocket-Key2': '12998 5 Y3 1  .P00',
    }),
    'latin1',
  ),
  Buffer.from('^n:ds[4U', 'latin1'),
]);

interface HandshakeCase {
  name: string;
  request: string | Buffer;
  server?: ServerName;
  status: number;
  /** Response headers that must be present with these values (names in lower case). */
  headers?: Record<string, string>;
  /** Text the body must contain. */
  body?: string;
}

const HANDSHAKE_CASES: HandshakeCase[] = [
  { name: 'a valid RFC 6455 upgrade', request: upgrade(), status: 101 },
  // RFC 7230 5.4: a request without Host, with two, or with an invalid one gets 400.
  { name: 'no Host', request: upgrade(undefined, { Host: null }), status: 400, body: 'Missing Host header' },
  {
    name: 'two Host headers, same value',
    request: upgrade(undefined, { Host: ['127.0.0.1', '127.0.0.1'] }),
    status: 400,
    body: 'More than one Host header',
  },
  { name: 'two Host headers', request: upgrade(undefined, { Host: ['a.example', 'b.example'] }), status: 400 },
  { name: 'empty Host', request: upgrade(undefined, { Host: '' }), status: 400, body: 'Invalid Host header' },
  { name: 'Host with a space', request: upgrade(undefined, { Host: 'a b' }), status: 400 },
  { name: 'Host with userinfo', request: upgrade(undefined, { Host: 'user@a.example' }), status: 400 },
  { name: 'Host with a path', request: upgrade(undefined, { Host: 'a.example/x' }), status: 400 },
  { name: 'Host with an unclosed bracket', request: upgrade(undefined, { Host: '[::1' }), status: 400 },
  { name: 'Host with a bad IPv6 literal', request: upgrade(undefined, { Host: '[zz::1]:80' }), status: 400 },
  { name: 'Host with a bare IPv6 address', request: upgrade(undefined, { Host: '::1' }), status: 400 },
  { name: 'Host with a port over 65535', request: upgrade(undefined, { Host: 'a.example:65536' }), status: 400 },
  { name: 'Host with a port that is not a number', request: upgrade(undefined, { Host: 'a.example:x' }), status: 400 },
  { name: 'Host with a bad percent-escape', request: upgrade(undefined, { Host: 'a%zz.example' }), status: 400 },
  { name: 'Host [::1]:6080', request: upgrade(undefined, { Host: '[::1]:6080' }), status: 101 },
  { name: 'Host with an empty port', request: upgrade(undefined, { Host: 'a.example:' }), status: 101 },
  { name: 'Host in capitals with a port', request: upgrade(undefined, { Host: 'A.EXAMPLE:80' }), status: 101 },
  {
    name: '--host-token: two Host headers are refused, not the first used',
    server: 'hostToken',
    request: upgrade(undefined, { Host: [TOKEN_HOST, 'other.example'] }),
    status: 400,
    body: 'More than one Host header',
  },
  {
    name: '--host-token: one Host naming a token',
    server: 'hostToken',
    request: upgrade(undefined, { Host: `${TOKEN_HOST}:6080` }),
    status: 101,
  },
  // RFC 6455 4.2.1: "An HTTP/1.1 or higher GET request". Node's parser passes 0.9, 1.0, 1.1
  // and 2.0 (anything else is its own 400). 1.0 and 0.9 are HTTP/1 that cannot upgrade: 400;
  // a major version we do not speak: 505 (RFC 7231 6.6.6), as the reference answers 2.0.
  { name: 'HTTP/1.0 upgrade', request: upgrade('GET / HTTP/1.0'), status: 400, body: 'needs HTTP/1.1 or later' },
  { name: 'HTTP/0.9 upgrade', request: upgrade('GET / HTTP/0.9'), status: 400 },
  { name: 'HTTP/2.0 in the request line', request: upgrade('GET / HTTP/2.0'), status: 505 },
  { name: 'HTTP/1.2 (Node refuses the version itself)', request: upgrade('GET / HTTP/1.2'), status: 400 },
  { name: 'POST upgrade', request: upgrade('POST / HTTP/1.1'), status: 405, headers: { allow: 'GET' } },
  { name: 'Upgrade: h2c', request: upgrade(undefined, { Upgrade: 'h2c' }), status: 400 },
  { name: 'Upgrade: WebSocket (any case)', request: upgrade(undefined, { Upgrade: 'WebSocket' }), status: 101 },
  // RFC 6455 4.2.1 item 3: the Upgrade field contains "websocket". Until the proxy wrote its
  // own 101, ws answered 400 unless it was the only value.
  { name: 'Upgrade: websocket, h2c', request: upgrade(undefined, { Upgrade: 'websocket, h2c' }), status: 101 },
  // Empty offers are ignored, as subprotocol.ts says (ws answered 400 to them).
  ...['', ' , ', 'binary,,base64'].map((offer): HandshakeCase => ({
    name: `Sec-WebSocket-Protocol: ${JSON.stringify(offer)}`,
    request: upgrade(undefined, { 'Sec-WebSocket-Protocol': offer }),
    status: 101,
  })),
  {
    name: 'Connection: keep-alive, Upgrade',
    request: upgrade(undefined, { Connection: 'keep-alive, Upgrade' }),
    status: 101,
  },
  // RFC 6455 4.2.1 item 6 and 4.4: the version is the token 13; anything else gets 426 naming
  // the versions spoken. 8 (hybi-08, the same framing) is a legacy version: see --no-legacy.
  ...['0xd', '13.0', '1.3e1', '+13', '013', '', '7', '14', '13, 13'].map((v): HandshakeCase => ({
    name: `Sec-WebSocket-Version: ${JSON.stringify(v)}`,
    request: upgrade(undefined, { 'Sec-WebSocket-Version': v }),
    status: 426,
    headers: { 'sec-websocket-version': '13, 8' },
  })),
  {
    name: 'two Sec-WebSocket-Version headers (13 and 13)',
    request: upgrade(undefined, { 'Sec-WebSocket-Version': ['13', '13'] }),
    status: 426,
  },
  {
    name: 'Sec-WebSocket-Key without Sec-WebSocket-Version',
    request: upgrade(undefined, { 'Sec-WebSocket-Version': null }),
    status: 426,
    headers: { 'sec-websocket-version': '13, 8' },
    body: 'Missing Sec-WebSocket-Version header',
  },
  { name: 'Sec-WebSocket-Version: 8', request: upgrade(undefined, { 'Sec-WebSocket-Version': '8' }), status: 101 },
  {
    name: 'Sec-WebSocket-Version without Sec-WebSocket-Key',
    request: upgrade(undefined, { 'Sec-WebSocket-Key': null }),
    status: 400,
    body: 'Missing or invalid Sec-WebSocket-Key header',
  },
  {
    name: 'a key that is not 16 bytes of base64',
    request: upgrade(undefined, { 'Sec-WebSocket-Key': 'c2hvcnQ=' }),
    status: 400,
  },
  // RFC 6455 4.1 item 2: the request target is a resource name (or an absolute http(s) URI).
  { name: 'GET * HTTP/1.1', request: upgrade('GET * HTTP/1.1'), status: 400, body: 'Invalid request target' },
  { name: 'GET without a leading slash', request: upgrade('GET websockify HTTP/1.1'), status: 400 },
  { name: 'GET ?token=x', request: upgrade('GET ?token=x HTTP/1.1'), status: 400 },
  { name: 'absolute-form http URI', request: upgrade('GET http://127.0.0.1/websockify HTTP/1.1'), status: 101 },
  { name: 'absolute-form without a path', request: upgrade('GET http://127.0.0.1 HTTP/1.1'), status: 101 },
  { name: 'absolute-form with another scheme', request: upgrade('GET ftp://127.0.0.1/ HTTP/1.1'), status: 400 },
  // Legacy handshakes: on by default, refused like any RFC 6455 upgrade without a version under
  // --no-legacy (legacy: false), which also drops version 8.
  { name: 'Hixie-75', request: HIXIE75, status: 101 },
  { name: 'Hixie-76 (the draft example)', request: HIXIE76, status: 101 },
  {
    name: '--no-legacy: Hixie-75',
    server: 'strict',
    request: HIXIE75,
    status: 426,
    headers: { 'sec-websocket-version': '13' },
    body: 'Missing Sec-WebSocket-Version header',
  },
  { name: '--no-legacy: Hixie-76', server: 'strict', request: HIXIE76, status: 426 },
  {
    name: '--no-legacy: Sec-WebSocket-Version: 8',
    server: 'strict',
    request: upgrade(undefined, { 'Sec-WebSocket-Version': '8' }),
    status: 426,
    headers: { 'sec-websocket-version': '13' },
  },
  { name: '--no-legacy: Sec-WebSocket-Version: 13', server: 'strict', request: upgrade(), status: 101 },
  { name: '--no-legacy: no Host', server: 'strict', request: upgrade(undefined, { Host: null }), status: 400 },
];

/** Waits (bounded) until the target has accepted `n` connections in all. */
async function targetConnections(n: number): Promise<void> {
  await eventually(() => target.connections.length >= n, `${n} target connections`, { ms: 5000 }).catch(() => {});
  expect(target.connections.length).toBe(n);
}

/**
 * The case's request with a header line that the fast path (src/protocol/upgrade-head.ts) leaves
 * to Node's HTTP parser: a value with a byte over 0x7f, which Node accepts and nothing reads.
 */
function viaNodeParser(request: string | Buffer): Buffer {
  const bytes = Buffer.isBuffer(request) ? request : Buffer.from(request); // as socket.write sends it
  const eol = bytes.indexOf('\r\n');
  if (eol < 0) return bytes;
  const extra = Buffer.from('X-Not-Ascii: caf\xe9\r\n', 'latin1');
  return Buffer.concat([bytes.subarray(0, eol + 2), extra, bytes.subarray(eol + 2)]);
}

async function handshakeCase(c: HandshakeCase, request: string | Buffer): Promise<void> {
  const before = target.connections.length;
  const port = ports[c.server ?? 'default'];
  const answer = await exchange(port, request);
  expect(answer.status).toBe(c.status);
  for (const [name, value] of Object.entries(c.headers ?? {})) expect(answer.headers[name]).toBe(value);
  if (c.body !== undefined) expect(answer.body).toContain(c.body);
  if (c.status === 101) {
    await targetConnections(before + 1); // proxied
    return;
  }
  expect(answer.headers.connection).toBe('close');
  // Refused before anything happened: the next good upgrade is the only new target connection.
  const good = c.server === 'hostToken' ? upgrade(undefined, { Host: TOKEN_HOST }) : upgrade();
  expect((await exchange(port, good)).status).toBe(101);
  await targetConnections(before + 1);
}

// Sent in one write, most of these go the fast path, without Node's HTTP server.
describe('handshake cases (request bytes -> status)', () => {
  it.each(HANDSHAKE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => handshakeCase(c, c.request));
});

// The same answers from Node's HTTP parser, which then reads every request.
describe("handshake cases through Node's HTTP parser (a header the fast path leaves to it)", () => {
  it.each(HANDSHAKE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) =>
    handshakeCase(c, viaNodeParser(c.request)),
  );
});

describe('the Flash socket policy request (a legacy path)', () => {
  const POLICY = '<policy-file-request/>\0';
  it('is answered by default', async () => {
    const raw = await rawExchange(ports.default, POLICY);
    expect(raw).toBe('<cross-domain-policy><allow-access-from domain="*" to-ports="*" /></cross-domain-policy>\0');
  });

  it('with --no-legacy is a bad HTTP request like any other bytes: 400', async () => {
    const raw = await rawExchange(ports.strict, POLICY);
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).not.toContain('cross-domain-policy');
  });

  it('--no-legacy on the command line: banner line, Hixie-75 gets 426, the policy request 400', async () => {
    const cli = await startCliForTest(['--no-legacy', '127.0.0.1:0', `127.0.0.1:${target.port}`]);
    await cli.waitForStderr(/ {2}- Legacy clients refused \(--no-legacy\): RFC 6455 version 13 only\n/);
    expect((await exchange(cli.port, HIXIE75)).status).toBe(426);
    expect(await rawExchange(cli.port, POLICY)).toMatch(/^HTTP\/1\.1 400 /);
    expect((await exchange(cli.port, upgrade())).status).toBe(101);
  });
});

// ---------------------------------------------------------------------------------------------
// Framing (RFC 6455 5 and 7.4): frames sent after a good upgrade with the binary subprotocol.

const MAX_MESSAGE = 64 * 1024;

/** A frame header by hand: any length encoding, masked with a zero key (payload unchanged). */
function rawHeader(first: number, length: number | bigint, encoding: 7 | 16 | 64 = 7): Buffer {
  const mask = Buffer.alloc(4);
  if (encoding === 7) return Buffer.concat([Buffer.from([first, 0x80 | Number(length)]), mask]);
  if (encoding === 16) {
    const b = Buffer.from([first, 0x80 | 126, 0, 0]);
    b.writeUInt16BE(Number(length), 2);
    return Buffer.concat([b, mask]);
  }
  const b = Buffer.alloc(10);
  b[0] = first;
  b[1] = 0x80 | 127;
  b.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([b, mask]);
}

type Outcome =
  /** The server closes with one of these codes (more than one where the RFC leaves a choice). */
  | { close: number[] }
  /** The data comes back through the echo target, byte for byte; pongs with these payloads. */
  | { echo: Buffer; pongs?: Buffer[] }
  /** The server answers the client's close with a close frame of this code (undefined: empty). */
  | { closeReply: number | undefined };

interface FrameCase {
  name: string;
  frames: Buffer[];
  outcome: Outcome;
}

const bin = (text: string): Buffer => Buffer.from(text);

const FRAME_CASES: FrameCase[] = [
  // 5.2: RSV1-3 must be 0 unless an extension says otherwise (none is negotiated here).
  ...[0b100, 0b010, 0b001].map((rsv) => ({
    name: `RSV bits ${rsv.toString(2).padStart(3, '0')}`,
    frames: [encodeFrame(0x2, 'rsv', { rsv })],
    outcome: { close: [1002] },
  })),
  { name: 'RSV1 on a ping', frames: [encodeFrame(0x9, 'p', { rsv: 0b100 })], outcome: { close: [1002] } },
  // 5.2: reserved opcodes: fail the connection.
  ...[0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op) => ({
    name: `reserved opcode 0x${op.toString(16)}`,
    frames: [encodeFrame(op, 'x')],
    outcome: { close: [1002] },
  })),
  // 5.5: control frames are at most 125 bytes and never fragmented.
  { name: 'fragmented ping', frames: [encodeFrame(0x9, 'frag', { fin: false })], outcome: { close: [1002] } },
  {
    name: 'fragmented close',
    frames: [encodeFrame(0x8, closePayload(1000), { fin: false })],
    outcome: { close: [1002] },
  },
  { name: 'ping of 126 bytes', frames: [encodeFrame(0x9, Buffer.alloc(126, 1))], outcome: { close: [1002] } },
  {
    name: 'ping of 125 bytes: pong with the same payload',
    frames: [encodeFrame(0x9, Buffer.alloc(125, 7)), encodeFrame(0x2, 'after')],
    outcome: { echo: bin('after'), pongs: [Buffer.alloc(125, 7)] },
  },
  // 5.4: continuation errors.
  { name: 'continuation with nothing to continue', frames: [encodeFrame(0x0, 'orphan')], outcome: { close: [1002] } },
  {
    name: 'a new data frame inside a fragmented message',
    frames: [encodeFrame(0x2, 'one', { fin: false }), encodeFrame(0x2, 'two')],
    outcome: { close: [1002] },
  },
  {
    name: 'a fragmented message in three frames',
    frames: [encodeFrame(0x2, 'ab', { fin: false }), encodeFrame(0x0, 'cd', { fin: false }), encodeFrame(0x0, 'ef')],
    outcome: { echo: bin('abcdef') },
  },
  {
    name: 'a ping between fragments',
    frames: [encodeFrame(0x2, 'ab', { fin: false }), encodeFrame(0x9, 'mid'), encodeFrame(0x0, 'cd')],
    outcome: { echo: bin('abcd'), pongs: [bin('mid')] },
  },
  // 5.2: lengths. The 64-bit form's most significant bit must be 0; a length beyond the
  // message limit is refused from the header alone (1009), before any payload.
  {
    name: '64-bit length with the high bit set',
    frames: [rawHeader(0x82, 1n << 63n, 64)],
    outcome: { close: [1002, 1009] },
  },
  { name: '64-bit length 2^63 - 1', frames: [rawHeader(0x82, (1n << 63n) - 1n, 64)], outcome: { close: [1002, 1009] } },
  { name: '64-bit length 2^40', frames: [rawHeader(0x82, 1n << 40n, 64)], outcome: { close: [1009] } },
  {
    name: 'a length just over the message limit, header only',
    frames: [rawHeader(0x82, MAX_MESSAGE + 1, 64)],
    outcome: { close: [1009] },
  },
  {
    name: 'a 64-bit length for a 70000-byte message is over the limit',
    frames: [encodeFrame(0x2, Buffer.alloc(70000, 3))],
    outcome: { close: [1009] },
  },
  {
    name: 'a 64-bit length for 5 bytes (not minimal: accepted)',
    frames: [Buffer.concat([rawHeader(0x82, 5, 64), bin('hello')])],
    outcome: { echo: bin('hello') },
  },
  {
    name: 'a 16-bit length for 5 bytes (not minimal: accepted)',
    frames: [Buffer.concat([rawHeader(0x82, 5, 16), bin('hello')])],
    outcome: { echo: bin('hello') },
  },
  { name: 'an unmasked frame (5.1)', frames: [encodeFrame(0x2, 'bare', { mask: false })], outcome: { close: [1002] } },
  // 5.5.1 and 7.4: close codes and reasons.
  { name: 'close with a 1-byte payload', frames: [encodeFrame(0x8, Buffer.from([0x03]))], outcome: { close: [1002] } },
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((code) => ({
    name: `close code ${code} (not to be sent)`,
    frames: [encodeFrame(0x8, closePayload(code))],
    outcome: { close: [1002] },
  })),
  ...[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4000, 4999].map((code) => ({
    name: `close code ${code}: answered with the same code`,
    frames: [encodeFrame(0x8, closePayload(code, 'bye'))],
    outcome: { closeReply: code },
  })),
  { name: 'an empty close: answered empty', frames: [encodeFrame(0x8)], outcome: { closeReply: undefined } },
  {
    name: 'a close reason of 123 bytes (the most that fits)',
    frames: [encodeFrame(0x8, closePayload(1000, 'r'.repeat(123)))],
    outcome: { closeReply: 1000 },
  },
  {
    name: 'invalid UTF-8 in a close reason',
    frames: [encodeFrame(0x8, closePayload(1000, Buffer.from([0xc3, 0x28])))],
    outcome: { close: [1007] },
  },
  {
    name: 'an overlong UTF-8 encoding in a close reason',
    frames: [encodeFrame(0x8, closePayload(1000, Buffer.from([0xc0, 0xaf])))],
    outcome: { close: [1007] },
  },
  {
    name: 'a UTF-16 surrogate in a close reason',
    frames: [encodeFrame(0x8, closePayload(1000, Buffer.from([0xed, 0xa0, 0x80])))],
    outcome: { close: [1007] },
  },
  {
    name: 'a valid UTF-8 close reason',
    frames: [encodeFrame(0x8, closePayload(1000, 'ok \u00e9\u4e2d\u{1f600}'))],
    outcome: { closeReply: 1000 },
  },
  // Text frames: this proxy carries bytes (binary), text is refused (the reference's 1003).
  { name: 'a text frame in binary mode', frames: [encodeFrame(0x1, 'text')], outcome: { close: [1003] } },
  {
    name: 'a text frame with invalid UTF-8',
    frames: [encodeFrame(0x1, Buffer.from([0xff, 0xfe]))],
    outcome: { close: [1003, 1007] },
  },
];

let framePort = 0;
beforeAll(async () => {
  const s = await startProxy({ target: `127.0.0.1:${target.port}`, maxMessageSize: MAX_MESSAGE });
  servers.push(s.server);
  framePort = s.port;
});

describe('framing cases (frame bytes -> close code or echo)', () => {
  it.each(FRAME_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = await rawWebSocket(framePort, { protocol: 'binary' });
    try {
      expect(r.status).toBe(101);
      for (const f of c.frames) r.send(f);
      const { outcome } = c;
      if ('echo' in outcome) {
        await r.waitForPayload(outcome.echo.length, 5000);
        expect(r.kept().equals(outcome.echo)).toBe(true);
        const pongs = r.control.filter((f) => f.opcode === 0xa).map((f) => f.payload);
        expect(pongs).toEqual(outcome.pongs ?? []);
        return;
      }
      const { code } = await withTimeout(r.closeFrame, 5000, 'close frame');
      if ('close' in outcome) expect(outcome.close).toContain(code);
      else expect(code).toBe(outcome.closeReply);
      // The server then ends the TCP connection (bounded by the close timeout, not forever).
      await withTimeout(r.socketClosed, 10000, 'TCP close');
    } finally {
      r.destroy();
    }
  });
});
