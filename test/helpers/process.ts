// Extra helpers for the CLI, lifetime, robustness and backpressure tests: tracking child
// processes so every one is killed, reading a process's RSS, probing whether a port accepts,
// a hand-made RFC 6455 client (raw frames, masked or not, no automatic replies) and a
// deterministic byte pattern for byte-exact checks of large transfers.

import crypto from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import WebSocket, { type ClientOptions } from 'ws';
import { withTimeout } from './clients.js';
import { runCli, type CliProcess } from './proxy.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds, polling; bounded. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!check()) await sleep(10);
    })(),
    ms,
    what,
  );
}

/**
 * Starts CLI processes and remembers them, so that `killAll()` (in afterEach) kills every one
 * still running by its own PID and waits for it.
 */
export class CliTracker {
  private readonly started: CliProcess[] = [];

  run(args: string[]): CliProcess {
    const cli = runCli(args);
    this.started.push(cli);
    return cli;
  }

  async start(args: string[], ms = 15000): Promise<CliProcess & { port: number }> {
    const cli = runCli(args);
    this.started.push(cli);
    // Wait for the whole banner (it may arrive in several chunks): its last line is "proxying".
    await cli.waitForStderr(/^ {2}- proxying from .*\n/m, ms);
    const m = /Listen on (?:\[[^\]]+\]|[^\s:]+):(\d+)/.exec(cli.stderr())!;
    return Object.assign(cli, { port: Number(m[1]) });
  }

  async killAll(): Promise<void> {
    const all = this.started.splice(0);
    await Promise.all(all.map((c) => withTimeout(c.kill(), 10000, `kill pid ${c.child.pid}`)));
  }
}

/** Waits (bounded) for the process to exit and returns its status (128+N for signal N). */
export function exitStatus(cli: CliProcess, ms: number): Promise<number> {
  return withTimeout(cli.exited, ms, `exit of pid ${cli.child.pid}; stderr:\n${cli.stderr()}`);
}

/** True while the process has not exited. */
export function isRunning(cli: CliProcess): boolean {
  return cli.child.exitCode === null && cli.child.signalCode === null;
}

/** Runs the CLI to completion (it must exit by itself within `ms`). */
export async function runToExit(
  args: string[],
  ms = 10000,
): Promise<{ status: number; stdout: string; stderr: string }> {
  const cli = runCli(args);
  try {
    const status = await exitStatus(cli, ms);
    // 'exit' may come before the last output is read: wait (bounded) for the pipes to close.
    await withTimeout(cli.closed, 5000, `stdout and stderr of pid ${cli.child.pid} to close`).catch(() => {});
    return { status, stdout: cli.stdout(), stderr: cli.stderr() };
  } finally {
    await cli.kill();
  }
}

/** The resident set size of a process, in bytes, from /proc/PID/status (VmRSS). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
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

/**
 * Deterministic, position-dependent bytes: the little-endian uint32 sequence offset/4,
 * offset/4+1, ... so any loss, duplication or reordering of a chunk shows up. `offset` and
 * `length` must be multiples of 4.
 */
export function pattern(offset: number, length: number): Buffer {
  if (offset % 4 !== 0 || length % 4 !== 0) throw new Error('pattern offset/length must be multiples of 4');
  const b = Buffer.allocUnsafe(length);
  const first = offset / 4;
  for (let i = 0; i < length / 4; i++) b.writeUInt32LE((first + i) >>> 0, i * 4);
  return b;
}

// ---- a hand-made WebSocket client ----

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Encodes one frame. Masked with a random key unless `mask` is false (servers reject that). */
export function encodeFrame(
  opcode: number,
  payload: Buffer | string = Buffer.alloc(0),
  { mask = true, fin = true, rsv = 0 }: { mask?: boolean; fin?: boolean; rsv?: number } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = data.length;
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) head.push(maskBit | 126, len >> 8, len & 0xff);
  else {
    head.push(maskBit | 127);
    const l = Buffer.alloc(8);
    l.writeBigUInt64BE(BigInt(len));
    head.push(...l);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) masked[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, masked]);
}

/** A close frame's payload: 2-byte code then the reason bytes. */
export function closePayload(code: number, reason: Buffer | string = ''): Buffer {
  const c = Buffer.alloc(2);
  c.writeUInt16BE(code);
  return Buffer.concat([c, typeof reason === 'string' ? Buffer.from(reason) : reason]);
}

export interface RawWebSocket {
  socket: net.Socket;
  /** Status line and headers of the server's response. */
  head: string;
  status: number;
  /** Control frames received (ping, pong, close), in order. */
  control: Frame[];
  /** Payload bytes received in data frames (text and binary) so far. */
  received(): number;
  /** The first `keep` payload bytes of data frames (see options). */
  kept(): Buffer;
  /** Resolves once at least n payload bytes arrived in data frames. */
  waitForPayload(n: number, ms?: number): Promise<void>;
  /** The first close frame: code (undefined when empty) and reason. */
  closeFrame: Promise<{ code: number | undefined; reason: Buffer }>;
  /** Resolves when the TCP connection is closed. */
  socketClosed: Promise<void>;
  send(data: Buffer): void;
  destroy(): void;
}

export interface RawWebSocketOptions {
  host?: string;
  path?: string;
  protocol?: string;
  /** How many data-frame payload bytes to keep for inspection (default 1 MiB). */
  keep?: number;
  ms?: number;
}

/**
 * Opens a TCP connection and performs the upgrade by hand. Resolves once the response head has
 * arrived (whatever its status). Frames are then parsed as they arrive; nothing is answered
 * automatically (no pong, no close reply), so a test can play a broken or silent client.
 */
export function rawWebSocket(port: number, options: RawWebSocketOptions = {}): Promise<RawWebSocket> {
  const { host = '127.0.0.1', path = '/', protocol, keep = 1024 * 1024, ms = 5000 } = options;
  const key = crypto.randomBytes(16).toString('base64');
  const request = [
    `GET ${path} HTTP/1.1`,
    `Host: ${host.includes(':') ? `[${host}]` : host}:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...(protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []),
    '',
    '',
  ].join('\r\n');
  const socket = net.connect(port, host);
  socket.on('error', () => {});
  const control: Frame[] = [];
  const keptChunks: Buffer[] = [];
  let keptBytes = 0;
  let total = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let headDone = false;
  let resolveClose!: (v: { code: number | undefined; reason: Buffer }) => void;
  const closeFrame = new Promise<{ code: number | undefined; reason: Buffer }>((r) => (resolveClose = r));
  const socketClosed = new Promise<void>((r) => socket.once('close', () => r()));

  const onPayload = (p: Buffer): void => {
    total += p.length;
    if (keptBytes < keep) {
      const part = p.subarray(0, keep - keptBytes);
      keptChunks.push(Buffer.from(part));
      keptBytes += part.length;
    }
    waiters = waiters.filter((w) => (total >= w.n ? (w.resolve(), false) : true));
  };

  const parse = (): void => {
    for (;;) {
      if (pending.length < 2) return;
      const b0 = pending[0]!;
      const b1 = pending[1]!;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (pending.length < 4) return;
        len = pending.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (pending.length < 10) return;
        len = Number(pending.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const keyOff = off;
      if (masked) off += 4;
      if (pending.length < off + len) return;
      let payload = pending.subarray(off, off + len);
      if (masked) {
        const k = pending.subarray(keyOff, keyOff + 4);
        payload = Buffer.from(payload.map((x, i) => x ^ k[i & 3]!));
      }
      pending = pending.subarray(off + len);
      const opcode = b0 & 0x0f;
      if (opcode >= 8) {
        const frame = { fin: (b0 & 0x80) !== 0, opcode, payload: Buffer.from(payload) };
        control.push(frame);
        if (opcode === 8) {
          resolveClose({
            code: payload.length >= 2 ? payload.readUInt16BE(0) : undefined,
            reason: Buffer.from(payload.subarray(2)),
          });
        }
      } else {
        onPayload(payload);
      }
    }
  };

  return withTimeout(
    new Promise<RawWebSocket>((resolve, reject) => {
      socket.once('connect', () => socket.write(request));
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed before the response head')));
      socket.on('data', (d: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, d]) : d;
        if (!headDone) {
          const end = pending.indexOf('\r\n\r\n');
          if (end === -1) return;
          headDone = true;
          const head = pending.subarray(0, end).toString('latin1');
          pending = pending.subarray(end + 4);
          socket.once('close', () => resolveClose({ code: undefined, reason: Buffer.from('(no close frame)') }));
          resolve({
            socket,
            head,
            status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
            control,
            received: () => total,
            kept: () => Buffer.concat(keptChunks),
            waitForPayload: (n, wait = 10000) =>
              withTimeout(
                new Promise<void>((r) => (total >= n ? r() : waiters.push({ n, resolve: r }))),
                wait,
                `${n} payload bytes (have ${total})`,
              ),
            closeFrame,
            socketClosed,
            send: (data) => void socket.write(data),
            destroy: () => socket.destroy(),
          });
        }
        parse();
      });
    }),
    ms,
    `raw upgrade to ${host}:${port}`,
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

/** Samples a process's RSS every `everyMs` for `durationMs`; returns the samples in bytes. */
export async function sampleRss(pid: number, everyMs: number, durationMs: number): Promise<number[]> {
  const samples: number[] = [];
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    samples.push(await rssBytes(pid));
    await sleep(everyMs);
  }
  return samples;
}
