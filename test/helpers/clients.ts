// WebSocket and raw-TCP clients for tests (the `ws` client, raw exchanges, connect probes);
// every wait they offer is bounded.

import net from 'node:net';
import WebSocket, { type ClientOptions } from 'ws';
import { defer } from './cleanup.js';
import { withTimeout } from './wait.js';

export interface OpenClient {
  ws: WebSocket;
  /** All messages received so far, as received (Buffer for binary, string for text). */
  messages: (Buffer | string)[];
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  /** Concatenation of every binary message received. */
  bytes(): Buffer;
  /** Waits until at least n bytes have arrived in binary messages. */
  waitForBytes(n: number, ms?: number): Promise<Buffer>;
}

/**
 * Opens a WebSocket and resolves once it is open (rejects on an HTTP error). `options` go to
 * ws (extra headers, or createConnection for a socket made by the test).
 */
export function openClient(
  url: string,
  protocols?: string | string[],
  ms = 5000,
  options: ClientOptions = {},
): Promise<OpenClient> {
  const ws = new WebSocket(url, protocols, options);
  const messages: (Buffer | string)[] = [];
  let total = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    messages.push(isBinary ? data : data.toString());
    if (isBinary) total += data.length;
    waiters = waiters.filter((w) => (total >= w.n ? (w.resolve(), false) : true));
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const bytes = (): Buffer => Buffer.concat(messages.filter((m): m is Buffer => Buffer.isBuffer(m)));
  const client: OpenClient = {
    ws,
    messages,
    closed,
    bytes,
    waitForBytes: (n, wait = 10000) =>
      withTimeout(
        new Promise<void>((resolve) => (total >= n ? resolve() : waiters.push({ n, resolve }))),
        wait,
        `${n} bytes (have ${total})`,
      ).then(bytes),
  };
  return withTimeout(
    new Promise<OpenClient>((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    }),
    ms,
    `open ${url}`,
  );
}

/** Sends raw bytes on a TCP connection and collects the whole response until the peer closes. */
export function rawExchange(port: number, request: string | Buffer, ms = 5000, host = '127.0.0.1'): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, host, () => s.write(request));
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    }),
    ms,
    'raw exchange',
  );
}

/** A valid RFC 6455 upgrade request with optional extra header lines. */
export function upgradeRequest(path = '/', extra: string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/** Connections that send nothing, and what became of them. */
export interface SilentConnections {
  sockets: net.Socket[];
  /** Connected and not closed yet. */
  open(): number;
  /** Closed by the server without a byte. */
  refused(): number;
}

/** Opens `total` connections to `port` that send nothing (destroyed after the current test). */
export function silentConnections(port: number, total: number): SilentConnections {
  let open = 0;
  let refused = 0;
  const sockets = Array.from({ length: total }, () => {
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    let connected = false;
    s.on('connect', () => {
      connected = true;
      open += 1;
    });
    s.on('data', (d: Buffer) => (got += d.length));
    s.on('error', () => {});
    s.on('close', () => {
      if (!connected) return;
      open -= 1;
      if (got === 0) refused += 1;
    });
    return s;
  });
  defer(() => sockets.forEach((s) => s.destroy()));
  return { sockets, open: () => open, refused: () => refused };
}

/**
 * Tries a TCP connection; resolves 'connected' (and closes it at once) or the error code
 * (e.g. 'ECONNREFUSED'). Bounded by `ms`.
 */
export function tryConnect(port: number, host = '127.0.0.1', ms = 3000): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    }),
    ms,
    `connect to ${host}:${port}`,
  );
}

// ---- ws clients with options the shared helper does not take ----

export interface TrackedWs {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  pings: number[];
}

/** Opens a `ws` client with client options (e.g. autoPong: false); records ping arrival times. */
export function openWs(url: string, options: ClientOptions = {}, ms = 5000): Promise<TrackedWs> {
  const ws = new WebSocket(url, options);
  const pings: number[] = [];
  ws.on('ping', () => pings.push(Date.now()));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return withTimeout(
    new Promise<TrackedWs>((resolve, reject) => {
      ws.once('open', () => resolve({ ws, closed, pings }));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    }),
    ms,
    `open ${url}`,
  );
}

/** Sends `data` on an open ws client and waits until `n` binary bytes came back in total. */
export async function roundTrip(
  client: { ws: WebSocket; waitForBytes(n: number, ms?: number): Promise<Buffer> },
  data: Buffer,
  expectTotal: number,
): Promise<Buffer> {
  client.ws.send(data);
  return client.waitForBytes(expectTotal);
}
