// The fast path from a plain connection to the proxy (src/server/fast-upgrade.ts), on real
// sockets: the request it builds from a connection's first bytes must be the one Node's HTTP
// server builds from the same bytes (method, target, version, headers with Node's rules for
// repeats, raw headers, and the bytes after the head); what it does not take stays on the
// socket, byte for byte, for the HTTP server.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import net from 'node:net';
import { takeUpgradeRequest } from '../src/server/fast-upgrade.js';
import { eventually, withTimeout } from './helpers/wait.js';

const BASE = [
  'GET /websockify?token=a%20b HTTP/1.1',
  'Host: 127.0.0.1:6080',
  'upgrade: websocket',
  'Connection: keep-alive, Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
];

const REQUESTS: [string, string][] = [
  ['a plain upgrade', BASE.join('\r\n') + '\r\n\r\n'],
  ['frames after the head', BASE.join('\r\n') + '\r\n\r\n\x82\x85\x01\x02\x03\x04hello'],
  [
    'repeated headers (joined, first kept, cookies)',
    [
      ...BASE,
      'Sec-WebSocket-Protocol: chat',
      'sec-websocket-protocol: binary',
      'User-Agent: first',
      'User-Agent: second',
      'Cookie: a=1',
      'Cookie: b=2',
      'X-Forwarded-For: 10.0.0.1',
      'X-Forwarded-For: 10.0.0.2',
      'Origin:',
    ].join('\r\n') + '\r\n\r\n',
  ],
];

type Seen = { req: http.IncomingMessage; head: Buffer };

let nodeServer: http.Server;
let nodePort = 0;
let nextNode: ((seen: Seen) => void) | undefined;
let fastServer: net.Server;
let fastPort = 0;
let nextFast: ((socket: net.Socket) => void) | undefined;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  nodeServer = http.createServer();
  nodeServer.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    sockets.push(socket);
    nextNode?.({ req, head });
  });
  fastServer = net.createServer({ pauseOnConnect: true }, (socket) => {
    sockets.push(socket);
    // Paused, the first bytes in the socket's buffer: each test reads them as sniffing would.
    socket.once('readable', () => nextFast?.(socket));
  });
  await new Promise<void>((r) => nodeServer.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => fastServer.listen(0, '127.0.0.1', r));
  nodePort = (nodeServer.address() as net.AddressInfo).port;
  fastPort = (fastServer.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => nodeServer.close(r));
  await new Promise((r) => fastServer.close(r));
});

function send(port: number, bytes: string): net.Socket {
  const client = net.connect(port, '127.0.0.1', () => client.write(Buffer.from(bytes, 'latin1')));
  client.on('error', () => {});
  sockets.push(client);
  return client;
}

function viaNode(bytes: string): Promise<Seen> {
  return withTimeout(
    new Promise<Seen>((resolve) => {
      nextNode = resolve;
      send(nodePort, bytes);
    }),
    5000,
    'Node upgrade',
  );
}

/** The server's socket for a client that sent `bytes`: paused, all of them in its buffer. */
async function firstBytes(bytes: string): Promise<net.Socket> {
  const socket = await withTimeout(
    new Promise<net.Socket>((resolve) => {
      nextFast = resolve;
      send(fastPort, bytes);
    }),
    5000,
    'first bytes',
  );
  await eventually(() => socket.readableLength >= bytes.length, 'the whole request buffered', { ms: 5000 });
  return socket;
}

function fields(req: http.IncomingMessage): object {
  const { method, url, httpVersion, httpVersionMajor, httpVersionMinor, headers, rawHeaders } = req;
  return { method, url, httpVersion, httpVersionMajor, httpVersionMinor, headers, rawHeaders };
}

describe('the fast path reads requests as Node does', () => {
  it.each(REQUESTS)('%s', async (_name, bytes) => {
    const node = await viaNode(bytes);
    const socket = await firstBytes(bytes);
    const fast = takeUpgradeRequest(socket, socket.read() as Buffer, 16384);
    expect(fast).toBeDefined();
    expect(fields(fast!.req)).toEqual(fields(node.req));
    expect(fast!.req.socket).toBe(socket);
    expect(fast!.head.toString('latin1')).toBe(node.head.toString('latin1'));
    expect(socket.readableLength).toBe(0);
  });

  it('leaves a request it does not take on the socket, byte for byte', async () => {
    const bytes = [...BASE, 'X-Name: caf\xe9'].join('\r\n') + '\r\n\r\n\x82\x80';
    const socket = await firstBytes(bytes);
    expect(takeUpgradeRequest(socket, socket.read() as Buffer, 16384)).toBeUndefined();
    expect(socket.readableLength).toBe(bytes.length);
    expect((socket.read() as Buffer).toString('latin1')).toBe(bytes);
  });

  it('leaves a head over the header size limit to Node', async () => {
    const bytes = BASE.join('\r\n') + '\r\n\r\n';
    const socket = await firstBytes(bytes);
    expect(takeUpgradeRequest(socket, socket.read() as Buffer, bytes.length - 1)).toBeUndefined();
    expect(socket.readableLength).toBe(bytes.length);
  });
});
