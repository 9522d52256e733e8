// The PROXY protocol, v1 and v2: the parser byte by byte (every field, LOCAL, unknown families,
// TLVs and CRC32C, truncated and malformed headers, a header in pieces), headers captured from
// a real HAProxy compared byte-exact, and a server with proxyProtocol on real sockets: the
// client it names is the peer in the log lines (TCP, TLS after the header, a unix socket), the
// deadline, a bad header, a sender that is not trusted. Then X-Forwarded-For from trusted
// proxies (the rightmost untrusted rule) and the client address auth and token plugins see.

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { ClientOptions } from 'ws';
import type { AuthRequest, RefusalEvent, TokenRequest, WebsockifyOptions } from '../src/index.js';
import { tokenResolver } from '../src/index.js';
import { crc32c } from '../src/protocol/crc32c.js';
import {
  formatIpv6,
  parseProxyHeader,
  PP2_TYPE,
  V1_MAX_LENGTH,
  V2_MAX_LENGTH,
  V2_SIGNATURE,
  type ProxyParse,
} from '../src/protocol/proxy-protocol.js';
import { addressRanges } from '../src/config/values.js';
import { forwardedAddress, TrustedProxies } from '../src/server/trusted-proxies.js';
import { makeTestPki } from './helpers/certs.js';
import { defer } from './helpers/cleanup.js';
import { openClient, rawExchange, upgradeRequest, type OpenClient } from './helpers/clients.js';
import { startHaproxy } from './helpers/haproxy.js';
import { echoForTest, expectEcho } from './helpers/per-test.js';
import { attemptUpgrade, parseAnswer, recordingLogger, type RecordingLogger } from './helpers/plugins.js';
import { sleep, withTimeout } from './helpers/wait.js';
import { startProxy } from './helpers/proxy.js';

// --- Building headers by hand -----------------------------------------------------------------

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const ipv4 = (a: string): Buffer => Buffer.from(a.split('.').map(Number));
const tlv = (type: number, value: Buffer | string): Buffer =>
  Buffer.concat([Buffer.from([type]), u16(Buffer.byteLength(value)), Buffer.from(value)]);

/** A v2 header: version/command byte, family/transport byte, then `body` (addresses and TLVs). */
function v2(versionCommand: number, familyTransport: number, body: Buffer): Buffer {
  return Buffer.concat([V2_SIGNATURE, Buffer.from([versionCommand, familyTransport]), u16(body.length), body]);
}

function tcp4(src: string, sport: number, dst: string, dport: number, ...tlvs: Buffer[]): Buffer {
  return v2(0x21, 0x11, Buffer.concat([ipv4(src), ipv4(dst), u16(sport), u16(dport), ...tlvs]));
}

/** A v2 header with a CRC32C TLV last, its checksum computed over the whole header. */
function withCrc(header: Buffer): Buffer {
  const grown = Buffer.concat([header, tlv(PP2_TYPE.CRC32C, Buffer.alloc(4))]);
  grown.writeUInt16BE(grown.readUInt16BE(14) + 7, 14);
  grown.writeUInt32BE(crc32c(grown), grown.length - 4);
  return grown;
}

function header(parsed: ProxyParse): Extract<ProxyParse, { kind: 'header' }>['header'] {
  if (parsed.kind !== 'header') throw new Error(`expected a header, got ${JSON.stringify(parsed)}`);
  return parsed.header;
}

const invalidReason = (bytes: Buffer | string): string => {
  const parsed = parseProxyHeader(Buffer.from(bytes));
  if (parsed.kind !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(parsed)}`);
  return parsed.reason;
};

describe('PROXY protocol v1 parser', () => {
  it('TCP4 and TCP6 lines, with the bytes after the line left alone', () => {
    const line = 'PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n';
    expect(header(parseProxyHeader(Buffer.from(`${line}GET / HTTP/1.1\r\n`)))).toEqual({
      version: 1,
      command: 'proxy',
      family: 'tcp4',
      source: { address: '192.0.2.1', port: 56324 },
      destination: { address: '198.51.100.1', port: 443 },
      tlvs: [],
      length: line.length,
    });
    const six = header(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 ::1 65535 0\r\n\x16\x03\x01')));
    expect(six).toMatchObject({ family: 'tcp6', source: { address: '2001:db8::1', port: 65535 } });
    expect(six.destination).toEqual({ address: '::1', port: 0 });
    expect(six.length).toBe(36);
  });

  it('UNKNOWN, bare and with the longest line the spec allows (107 bytes)', () => {
    expect(header(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')))).toEqual({
      version: 1,
      command: 'proxy',
      family: 'unknown',
      tlvs: [],
      length: 15,
    });
    const f = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const longest = `PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`;
    expect(longest.length).toBe(V1_MAX_LENGTH);
    expect(header(parseProxyHeader(Buffer.from(longest))).length).toBe(107);
  });

  it('every strict prefix is incomplete; a line without CRLF in 107 bytes is invalid', () => {
    const line = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n');
    for (let n = 0; n < line.length; n++) expect(parseProxyHeader(line.subarray(0, n))).toEqual({ kind: 'incomplete' });
    expect(parseProxyHeader(Buffer.from(`PROXY UNKNOWN ${'x'.repeat(80)}`))).toEqual({ kind: 'incomplete' });
    expect(invalidReason(`PROXY UNKNOWN ${'x'.repeat(100)}`)).toBe('v1 line longer than 107 bytes');
  });

  it.each([
    ['proxy TCP4 192.0.2.1 198.51.100.1 1 2\r\n', 'no PROXY protocol signature'],
    ['GET / HTTP/1.1\r\n', 'no PROXY protocol signature'],
    ['PROXY TCP5 192.0.2.1 198.51.100.1 1 2\r\n', "v1 protocol 'TCP5' is not TCP4, TCP6 or UNKNOWN"],
    ['PROXY TCP4 192.0.2.1 198.51.100.1 1\r\n', 'v1 TCP4 line has 3 fields, not 4'],
    ['PROXY TCP4  192.0.2.1 198.51.100.1 1 2\r\n', 'v1 TCP4 line has 5 fields, not 4'],
    ['PROXY TCP4 192.0.2.1 198.51.100.1 1 2 \r\n', 'v1 TCP4 line has 5 fields, not 4'],
    ['PROXY TCP4 192.0.2.01 198.51.100.1 1 2\r\n', "v1 source address '192.0.2.01' is not an IPv4 address"],
    ['PROXY TCP4 ::1 198.51.100.1 1 2\r\n', "v1 source address '::1' is not an IPv4 address"],
    ['PROXY TCP6 ::1 192.0.2.1 1 2\r\n', "v1 destination address '192.0.2.1' is not an IPv6 address"],
    ['PROXY TCP4 192.0.2.1 198.51.100.1 65536 2\r\n', "v1 source port '65536' is not a port number"],
    ['PROXY TCP4 192.0.2.1 198.51.100.1 1 0443\r\n', "v1 destination port '0443' is not a port number"],
    ['PROXY TCP4 192.0.2.1 198.51.100.1 1 -2\r\n', "v1 destination port '-2' is not a port number"],
    ['PROXY TCP4 192.0.2.1 198.51.100.1 1 2\n', 'v1 line not ended by CRLF'],
    ['PROXY TCP4 192.0.2.1\r198.51.100.1 1 2\r\n', 'v1 line holds a stray CR'],
  ])('%j is invalid: %s', (line, reason) => {
    expect(invalidReason(line)).toBe(reason);
  });
});

describe('PROXY protocol v2 parser', () => {
  it('TCP over IPv4 with ALPN, AUTHORITY, NOOP and UNIQUE_ID TLVs, kept in order', () => {
    const tlvs = [
      tlv(PP2_TYPE.ALPN, 'h2'),
      tlv(PP2_TYPE.AUTHORITY, 'vnc.example.org'),
      tlv(PP2_TYPE.NOOP, Buffer.alloc(3)),
      tlv(PP2_TYPE.UNIQUE_ID, 'abc'),
    ];
    const bytes = tcp4('203.0.113.7', 40001, '10.0.0.1', 6080, ...tlvs);
    expect(bytes.length).toBe(16 + 12 + 5 + 18 + 6 + 6);
    const parsed = header(parseProxyHeader(Buffer.concat([bytes, Buffer.from('GET /')])));
    expect(parsed).toMatchObject({
      version: 2,
      command: 'proxy',
      family: 'tcp4',
      source: { address: '203.0.113.7', port: 40001 },
      destination: { address: '10.0.0.1', port: 6080 },
      length: bytes.length,
    });
    expect(parsed.tlvs.map((t) => [t.type, t.value.toString('latin1')])).toEqual([
      [1, 'h2'],
      [2, 'vnc.example.org'],
      [4, '\0\0\0'],
      [5, 'abc'],
    ]);
  });

  it('TCP over IPv6, datagram transport, and unix socket paths', () => {
    const src = Buffer.from('20010db8000000000000000000000007', 'hex');
    const dst = Buffer.from('00000000000000000000ffffc0000201', 'hex');
    const six = v2(0x21, 0x21, Buffer.concat([src, dst, u16(51000), u16(443)]));
    expect(header(parseProxyHeader(six))).toMatchObject({
      family: 'tcp6',
      source: { address: '2001:db8::7', port: 51000 },
      destination: { address: '::ffff:192.0.2.1', port: 443 },
      length: 52,
    });
    const dgram = v2(0x21, 0x12, Buffer.concat([ipv4('192.0.2.9'), ipv4('192.0.2.1'), u16(1), u16(2)]));
    expect(header(parseProxyHeader(dgram)).source).toEqual({ address: '192.0.2.9', port: 1 });
    const paths = Buffer.alloc(216);
    paths.write('/run/client.sock', 0);
    paths.write('/run/ws.sock', 108);
    expect(header(parseProxyHeader(v2(0x21, 0x31, paths)))).toMatchObject({
      family: 'unix',
      source: { path: '/run/client.sock' },
      destination: { path: '/run/ws.sock' },
      length: 232,
    });
  });

  it('LOCAL ignores the family and address block; AF_UNSPEC under PROXY gives no address', () => {
    expect(header(parseProxyHeader(v2(0x20, 0x00, Buffer.alloc(0))))).toEqual({
      version: 2,
      command: 'local',
      family: 'unknown',
      tlvs: [],
      length: 16,
    });
    // LOCAL with an address block the receiver must discard, even an odd one.
    expect(header(parseProxyHeader(v2(0x20, 0x11, Buffer.alloc(5)))).command).toBe('local');
    const unspec = header(parseProxyHeader(v2(0x21, 0x00, tlv(PP2_TYPE.NOOP, ''))));
    expect(unspec).toMatchObject({ command: 'proxy', family: 'unknown', length: 19 });
    expect(unspec.source).toBeUndefined();
  });

  it('a CRC32C TLV is checked: right passes, one flipped bit or a wrong size fails', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283); // the standard check value
    const good = withCrc(tcp4('192.0.2.1', 1, '192.0.2.2', 2, tlv(PP2_TYPE.UNIQUE_ID, 'id')));
    expect(header(parseProxyHeader(good)).tlvs.map((t) => t.type)).toEqual([5, 3]);
    const flipped = Buffer.from(good);
    flipped[17]! ^= 0x01; // in the source address
    expect(invalidReason(flipped)).toBe('v2 CRC32C checksum does not match');
    expect(invalidReason(tcp4('192.0.2.1', 1, '192.0.2.2', 2, tlv(PP2_TYPE.CRC32C, 'abc')))).toBe(
      'v2 CRC32C TLV of 3 bytes, not 4',
    );
  });

  it('every strict prefix is incomplete, whichever byte it stops at', () => {
    const bytes = withCrc(tcp4('192.0.2.1', 1, '192.0.2.2', 2, tlv(PP2_TYPE.ALPN, 'http/1.1')));
    for (let n = 0; n < bytes.length; n++)
      expect(parseProxyHeader(bytes.subarray(0, n))).toEqual({ kind: 'incomplete' });
    expect(header(parseProxyHeader(bytes)).length).toBe(bytes.length);
  });

  it.each([
    ['a bad signature', Buffer.concat([V2_SIGNATURE.subarray(0, 11), Buffer.from('X')]), 'no PROXY protocol signature'],
    ['version 1 in a v2 header', v2(0x11, 0x11, Buffer.alloc(12)), 'v2 version 1, not 2'],
    ['command 2', v2(0x22, 0x11, Buffer.alloc(12)), 'v2 command 2 is neither LOCAL nor PROXY'],
    ['address family 4', v2(0x21, 0x41, Buffer.alloc(12)), 'v2 address family 4 is unknown'],
    ['transport 3', v2(0x21, 0x13, Buffer.alloc(12)), 'v2 transport protocol 3 is unknown'],
    ['an IPv4 block cut short', v2(0x21, 0x11, Buffer.alloc(8)), 'v2 tcp4 header holds 8 address bytes, needs 12'],
    ['an IPv6 block cut short', v2(0x21, 0x21, Buffer.alloc(12)), 'v2 tcp6 header holds 12 address bytes, needs 36'],
    ['a unix block cut short', v2(0x21, 0x31, Buffer.alloc(215)), 'v2 unix header holds 215 address bytes, needs 216'],
    [
      'a TLV longer than the header',
      tcp4('1.1.1.1', 1, '2.2.2.2', 2, Buffer.from([1, 0, 9, 0x68])),
      'v2 TLV 0x1 runs past the header',
    ],
    [
      'two bytes after the last TLV',
      tcp4('1.1.1.1', 1, '2.2.2.2', 2, tlv(4, ''), Buffer.from([1, 0])),
      'v2 2 stray bytes after the last TLV',
    ],
  ])('%s is invalid', (_what, bytes, reason) => {
    expect(invalidReason(bytes)).toBe(reason);
  });

  it('a length over the limit is refused from the first 16 bytes, before the rest arrives', () => {
    const head = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11]), u16(V2_MAX_LENGTH - 16 + 1)]);
    expect(invalidReason(head)).toBe(`v2 header of ${V2_MAX_LENGTH + 1} bytes, over the 4096-byte limit`);
    const atLimit = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11]), u16(V2_MAX_LENGTH - 16)]);
    expect(parseProxyHeader(atLimit)).toEqual({ kind: 'incomplete' });
  });

  it.each([
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000000000000000', '::'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['00010000000100000001000000010000', '1:0:1:0:1:0:1:0'],
    ['fe800000000000000000000000000000', 'fe80::'],
    ['00000000000000000000ffff7f000001', '::ffff:127.0.0.1'],
  ])('IPv6 %s is written %s, as Node writes remote addresses', (hex, text) => {
    expect(formatIpv6(Buffer.from(hex, 'hex'))).toBe(text);
    expect(net.isIPv6(text)).toBe(true);
  });
});

/** What HAProxy's LOCAL health-check header with a CRC32C TLV looks like (captured from 2.6). */
const HAPROXY_LOCAL_CHECK = Buffer.from('0d0a0d0a000d0a515549540a20000007030004a9b87e8f', 'hex');

describe('headers a real HAProxy sends', () => {
  it('a captured LOCAL health check: LOCAL, its CRC32C right', () => {
    expect(header(parseProxyHeader(HAPROXY_LOCAL_CHECK))).toEqual({
      version: 2,
      command: 'local',
      family: 'unknown',
      tlvs: [],
      length: 23,
    });
    const zeroed = Buffer.from(HAPROXY_LOCAL_CHECK);
    zeroed.fill(0, 19, 23);
    expect(crc32c(zeroed)).toBe(HAPROXY_LOCAL_CHECK.readUInt32BE(19));
  });

  /** Starts a capture server behind HAProxy (`server` options given); returns what a client's connection delivered. */
  async function capture(
    serverOptions: string,
    host = '127.0.0.1',
  ): Promise<{ bytes: Buffer; client: net.AddressInfo; front: number }> {
    let got: (b: Buffer) => void = () => {};
    const arrived = new Promise<Buffer>((r) => (got = r));
    const sink = net.createServer((s) => {
      s.on('error', () => {});
      let seen = Buffer.alloc(0);
      s.on('data', (d) => {
        seen = Buffer.concat([seen, d]);
        if (seen.includes('hello')) got(seen);
      });
    });
    await new Promise<void>((r) => sink.listen(0, host, r));
    defer(() => new Promise((r) => sink.close(r)));
    const back = (sink.address() as net.AddressInfo).port;
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, host, r));
    const front = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const h = host.includes(':') ? `[${host}]` : host;
    await startHaproxy(
      `defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n` +
        `frontend f\n  bind ${h}:${front}\n  unique-id-format edge-test-id\n  default_backend b\n` +
        `backend b\n  server s ${h}:${back} ${serverOptions}\n`,
    );
    const client = net.connect(front, host);
    client.on('error', () => {});
    defer(() => client.destroy());
    await new Promise((r) => client.once('connect', r));
    const address = client.address() as net.AddressInfo;
    client.write('hello');
    const bytes = await withTimeout(arrived, 10000, 'bytes through haproxy');
    return { bytes, client: address, front };
  }

  it('send-proxy (v1) over IPv4: the line byte-exact, then the client bytes', async () => {
    const { bytes, client, front } = await capture('send-proxy');
    const line = `PROXY TCP4 127.0.0.1 127.0.0.1 ${client.port} ${front}\r\n`;
    expect(bytes.toString('latin1')).toBe(`${line}hello`);
    expect(header(parseProxyHeader(bytes))).toMatchObject({
      source: { address: '127.0.0.1', port: client.port },
      length: line.length,
    });
  });

  it('send-proxy (v1) over IPv6', async () => {
    const { bytes, client, front } = await capture('send-proxy', '::1');
    expect(bytes.toString('latin1')).toBe(`PROXY TCP6 ::1 ::1 ${client.port} ${front}\r\nhello`);
  });

  it('send-proxy-v2 with CRC32C and UNIQUE_ID TLVs: byte-exact, checksum verified', async () => {
    const { bytes, client, front } = await capture('send-proxy-v2 proxy-v2-options crc32c,unique-id');
    const addresses = Buffer.concat([ipv4('127.0.0.1'), ipv4('127.0.0.1'), u16(client.port), u16(front)]);
    const crcAt = 16 + 12 + 3;
    const expected = v2(
      0x21,
      0x11,
      Buffer.concat([
        addresses,
        tlv(PP2_TYPE.CRC32C, bytes.subarray(crcAt, crcAt + 4)),
        tlv(PP2_TYPE.UNIQUE_ID, 'edge-test-id'),
      ]),
    );
    expect(bytes.subarray(0, expected.length).toString('hex')).toBe(expected.toString('hex'));
    expect(bytes.subarray(expected.length).toString()).toBe('hello');
    const parsed = header(parseProxyHeader(bytes)); // the parser checks the CRC32C
    expect(parsed.source).toEqual({ address: '127.0.0.1', port: client.port });
    expect(parsed.tlvs.map((t) => [t.type, t.value.length])).toEqual([
      [3, 4],
      [5, 12],
    ]);
  });

  it('send-proxy-v2 over IPv6', async () => {
    const { bytes, client } = await capture('send-proxy-v2', '::1');
    expect(bytes.subarray(12, 16).toString('hex')).toBe('21210024');
    expect(header(parseProxyHeader(bytes)).source).toEqual({ address: '::1', port: client.port });
  });
});

// --- A server reading PROXY headers ------------------------------------------------------------

async function proxied(options: Partial<WebsockifyOptions> = {}): Promise<{
  port: number;
  logger: RecordingLogger;
  refused: RefusalEvent[];
}> {
  const logger = recordingLogger();
  const { server, port } = await startProxy({
    target: await echoForTest(),
    logger,
    proxyProtocol: true,
    closeTimeout: 1,
    ...options,
  });
  const refused: RefusalEvent[] = [];
  server.on('refused', (e) => refused.push(e));
  defer(() => server.close());
  return { port, logger, refused };
}

/** Connects, writes `header` (`pieces` bytes at a time, each in its own write), resolves the socket. */
async function sendHeader(connect: () => net.Socket, bytes: Buffer, pieces = bytes.length): Promise<net.Socket> {
  const socket = connect();
  socket.on('error', () => {});
  defer(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  for (let i = 0; i < bytes.length; i += pieces) {
    socket.write(bytes.subarray(i, i + pieces));
    await new Promise((r) => setImmediate(r));
  }
  return socket;
}

/** A WebSocket client over `socket` (the PROXY header already sent on it), terminated after the test. */
async function clientOver(socket: net.Socket | tls.TLSSocket, url = 'ws://127.0.0.1/'): Promise<OpenClient> {
  return openClientWith(url, { createConnection: () => socket });
}

async function openClientWith(url: string, options: ClientOptions): Promise<OpenClient> {
  const c = await openClient(url, undefined, 5000, options);
  defer(() => c.ws.terminate());
  return c;
}

/** Sends `bytes` and resolves with the response head (and what body arrived with it). */
function answerHead(port: number, bytes: string | Buffer): Promise<ReturnType<typeof parseAnswer>> {
  return withTimeout(
    new Promise((resolve, reject) => {
      let raw = '';
      const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
      defer(() => s.destroy());
      s.on('data', (d) => {
        raw += d.toString('latin1');
        if (raw.includes('\r\n\r\n')) resolve(parseAnswer(raw));
      });
      s.on('error', reject);
    }),
    5000,
    'response head',
  );
}

const waitForLine = async (logger: RecordingLogger, pattern: RegExp): Promise<string> => {
  const until = Date.now() + 5000;
  for (;;) {
    const line = logger.lines.find((l) => pattern.test(l));
    if (line) return line;
    if (Date.now() > until) throw new Error(`no log line ${pattern}; lines:\n${logger.lines.join('\n')}`);
    await sleep(10);
  }
};

describe('a server with proxyProtocol', () => {
  it('a v2 header sent one byte at a time: the client it names is the peer; bytes echo exactly', async () => {
    const { port, logger } = await proxied();
    const socket = await sendHeader(
      () => net.connect(port, '127.0.0.1'),
      tcp4('203.0.113.7', 40001, '10.0.0.1', 6080),
      1,
    );
    const c = await clientOver(socket);
    await expectEcho(c, 'through the PROXY header');
    expect(await waitForLine(logger, /WebSocket connection/)).toMatch(
      /^\d+: 203\.0\.113\.7:40001: WebSocket connection on \//,
    );
    expect(logger.lines).toContain('1: 127.0.0.1: PROXY v2 tcp4 header: the client is 203.0.113.7:40001');
  });

  it('a v1 header and the request in one write; IPv6 clients are bracketed', async () => {
    const { port, logger } = await proxied();
    const answer = await answerHead(port, `PROXY TCP6 2001:db8::7 ::1 51000 6080\r\n${upgradeRequest('/x')}`);
    expect(answer.status).toBe(101);
    expect(await waitForLine(logger, /WebSocket connection/)).toMatch(
      /^\d+: \[2001:db8::7\]:51000: WebSocket connection on \/x/,
    );
  });

  it('TLS after the header: the ClientHello is sniffed behind it', async () => {
    const pki = await makeTestPki();
    defer(() => rmSync(pki.dir, { recursive: true, force: true }));
    const { port, logger } = await proxied({ tls: { cert: pki.server.cert, key: pki.server.key } });
    const raw = await sendHeader(
      () => net.connect(port, '127.0.0.1'),
      Buffer.from('PROXY TCP4 198.51.100.20 127.0.0.1 33333 443\r\n'),
      7,
    );
    const secure = tls.connect({ socket: raw, ca: readFileSync(pki.ca), servername: 'localhost' });
    const c = await clientOver(secure, 'wss://localhost/');
    await expectEcho(c, 'over TLS');
    expect(await waitForLine(logger, /WebSocket connection/)).toMatch(/: 198\.51\.100\.20:33333: WebSocket connection/);
  });

  it('on a unix socket: the header names the client instead of unix:PATH', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-pp-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'ws.sock');
    const { logger } = await proxied({ listen: { path: sock } });
    const socket = await sendHeader(() => net.connect(sock), tcp4('192.0.2.44', 5555, '192.0.2.1', 80));
    const c = await clientOver(socket);
    await expectEcho(c, 'unix');
    expect(await waitForLine(logger, /WebSocket connection/)).toMatch(/: 192\.0\.2\.44:5555: WebSocket connection/);
  });

  it('LOCAL (a health check) keeps the socket address; /healthz answers behind it', async () => {
    const { port, logger } = await proxied();
    const answer = parseAnswer(
      await rawExchange(port, Buffer.concat([HAPROXY_LOCAL_CHECK, Buffer.from('GET /healthz HTTP/1.0\r\n\r\n')])),
    );
    expect([answer.status, answer.body]).toEqual([200, 'ok\n']);
    expect(logger.lines).toContain("1: 127.0.0.1: PROXY v2 LOCAL header; keeping the connection's own address");
  });

  it('no header: closed without an answer, logged, refused as a bad handshake', async () => {
    const { port, logger, refused } = await proxied();
    expect(await rawExchange(port, upgradeRequest('/'))).toBe('');
    expect(logger.lines).toContain('1: 127.0.0.1: bad PROXY protocol header (no PROXY protocol signature); closed');
    expect(refused).toEqual([{ reason: 'bad-handshake', status: 0, peer: '127.0.0.1' }]);
  });

  it('a malformed header is closed; the server serves the next client', async () => {
    const { port, logger } = await proxied();
    expect(await rawExchange(port, 'PROXY TCP4 300.0.0.1 127.0.0.1 1 2\r\nGET / HTTP/1.1\r\n\r\n')).toBe('');
    expect(logger.lines.join('\n')).toContain(
      "bad PROXY protocol header (v1 source address '300.0.0.1' is not an IPv4 address)",
    );
    const socket = await sendHeader(() => net.connect(port, '127.0.0.1'), tcp4('192.0.2.5', 1, '192.0.2.1', 2));
    await expectEcho(await clientOver(socket), 'next');
  });

  it('a header that stops half-way is dropped at the handshake deadline', async () => {
    const { port, logger } = await proxied({ handshakeTimeout: 0.3 });
    const socket = await sendHeader(
      () => net.connect(port, '127.0.0.1'),
      tcp4('192.0.2.5', 1, '192.0.2.1', 2).subarray(0, 20),
    );
    const received: Buffer[] = [];
    socket.on('data', (d) => received.push(d));
    await withTimeout(new Promise((r) => socket.once('close', r)), 5000, 'close at the deadline');
    expect(Buffer.concat(received).length).toBe(0);
    expect(logger.lines).toContain('1: 127.0.0.1: handshake not done within 0.3 s (no complete PROXY header); dropped');
  });

  it('with trustedProxies, a header from another peer is read and ignored', async () => {
    const { port, logger } = await proxied({ trustedProxies: ['10.0.0.0/8', '192.168.0.0/16'] });
    const socket = await sendHeader(() => net.connect(port, '127.0.0.1'), tcp4('203.0.113.7', 40001, '10.0.0.1', 6080));
    await expectEcho(await clientOver(socket), 'ignored');
    expect(await waitForLine(logger, /WebSocket connection/)).toMatch(/^\d+: 127\.0\.0\.1: WebSocket connection/);
    expect(logger.lines).toContain(
      '1: 127.0.0.1: PROXY v2 tcp4 header from a peer that is not a trusted proxy; ignored',
    );
  });

  it('behind a real HAProxy with send-proxy and send-proxy-v2: the client address and source port', async () => {
    const { port, logger } = await proxied();
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const v1Port = (probe.address() as net.AddressInfo).port;
    const probe2 = net.createServer();
    await new Promise<void>((r) => probe2.listen(0, '127.0.0.1', r));
    const v2Port = (probe2.address() as net.AddressInfo).port;
    await Promise.all([new Promise((r) => probe.close(r)), new Promise((r) => probe2.close(r))]);
    await startHaproxy(
      `defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n` +
        `listen one\n  bind 127.0.0.1:${v1Port}\n  server s 127.0.0.1:${port} send-proxy\n` +
        `listen two\n  bind 127.0.0.1:${v2Port}\n  server s 127.0.0.1:${port} send-proxy-v2\n`,
    );
    for (const front of [v1Port, v2Port]) {
      const raw = net.connect(front, '127.0.0.1');
      raw.on('error', () => {});
      await new Promise((r) => raw.once('connect', r));
      const c = await clientOver(raw);
      await expectEcho(c, `via ${front}`);
      const line = await waitForLine(logger, new RegExp(`: 127\\.0\\.0\\.1:${raw.localPort}: WebSocket connection`));
      expect(line).toContain(`127.0.0.1:${raw.localPort}`);
      c.ws.close();
    }
  });
});

// --- X-Forwarded-For --------------------------------------------------------------------------

describe('trusted proxies and X-Forwarded-For', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    [' 192.0.2.7:51000', '192.0.2.7'],
    ['2001:db8::7', '2001:db8::7'],
    ['[2001:db8::7]', '2001:db8::7'],
    ['[2001:db8::7]:443', '2001:db8::7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['unknown', undefined],
    ['_hidden', undefined],
    ['192.0.2.300', undefined],
  ])('entry %j is %s', (entry, address) => {
    expect(forwardedAddress(entry)).toBe(address);
  });

  it('the rightmost untrusted entry is the client; a spoofed leftmost entry is never believed', () => {
    const trusted = new TrustedProxies(addressRanges(['127.0.0.1', '10.0.0.0/8', 'fd00::/8'], 'trustedProxies'));
    expect(trusted.forwardedClient('127.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(trusted.forwardedClient('127.0.0.1', '6.6.6.6, 198.51.100.1, 10.1.2.3')).toBe('198.51.100.1');
    expect(trusted.forwardedClient('::ffff:127.0.0.1', ['6.6.6.6, 198.51.100.1', '10.1.2.3'])).toBe('198.51.100.1');
    expect(trusted.forwardedClient('127.0.0.1', '10.9.9.9, fd00::5')).toBe('10.9.9.9'); // all trusted: the leftmost
    expect(trusted.forwardedClient('127.0.0.1', 'garbage, 198.51.100.1')).toBe('198.51.100.1');
    expect(trusted.forwardedClient('127.0.0.1', '198.51.100.1, garbage')).toBeUndefined();
    expect(trusted.forwardedClient('192.0.2.50', '198.51.100.1')).toBeUndefined(); // untrusted peer
    expect(trusted.forwardedClient('unix:/run/ws.sock', '198.51.100.1')).toBe('198.51.100.1');
    expect(trusted.forwardedClient('127.0.0.1', undefined)).toBeUndefined();
  });

  it.each([[['10.0.0.0/33']], [['nonsense']], [['10.0.0.0/8/1']], [[]], [['::1/129']], [['10.0.0.0/ 8']]])(
    'refuses %j',
    (ranges) => {
      expect(() => addressRanges(ranges, 'trustedProxies')).toThrow(
        /^option trustedProxies: expected IP addresses or CIDR ranges/,
      );
    },
  );

  it('through the server: logs, the auth plugin and the token plugin see the forwarded client', async () => {
    const target = await echoForTest();
    const logger = recordingLogger();
    const seenByAuth: AuthRequest[] = [];
    const seenByTokens: (TokenRequest | undefined)[] = [];
    const { server, url } = await startProxy({
      logger,
      closeTimeout: 1,
      trustedProxies: '127.0.0.1/32,10.0.0.0/8',
      resolveTarget: tokenResolver({
        lookup: (_token, request) => {
          seenByTokens.push(request);
          const [host, p] = target.split(':');
          return { kind: 'tcp', host: host!, port: Number(p) };
        },
      }),
      auth: { authenticate: (r) => void seenByAuth.push(r) },
    });
    defer(() => server.close());
    const c = await openClientWith(`${url}/?token=t`, {
      headers: { 'X-Forwarded-For': '6.6.6.6, 198.51.100.1, 10.0.0.9' },
    });
    await expectEcho(c, 'xff');
    expect(await waitForLine(logger, /WebSocket connection/)).toMatch(/^\d+: 198\.51\.100\.1: WebSocket connection/);
    expect(seenByAuth[0]!.remoteAddress).toBe('198.51.100.1');
    expect(seenByTokens).toEqual([{ remoteAddress: '198.51.100.1' }]);
    // Without the header, the socket's own address.
    const direct = await openClient(`${url}/?token=t`);
    defer(() => direct.ws.terminate());
    expect(seenByTokens[1]).toEqual({ remoteAddress: '127.0.0.1' });
  });

  it('a server without trustedProxies ignores X-Forwarded-For', async () => {
    const logger = recordingLogger();
    const { server, port } = await startProxy({ target: await echoForTest(), logger, closeTimeout: 1 });
    defer(() => server.close());
    const answer = await attemptUpgrade(port, '/', ['X-Forwarded-For: 198.51.100.1']);
    expect(answer.status).toBe(101);
    expect(await waitForLine(logger, /WebSocket connection/)).toMatch(/^\d+: 127\.0\.0\.1: WebSocket connection/);
  });
});
