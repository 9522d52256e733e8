// Real TCP/unix targets for tests: echo, sink (records everything), source (sends bytes then
// optionally closes), and a blackhole that never completes a connection. Each returns its
// address and a close() that ends every connection (the blackhole is cleaned up after the test).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { defer } from './cleanup.js';
import { withTimeout } from './wait.js';

export interface TestTarget {
  port: number;
  /** Unix socket path when listening on one. */
  path?: string;
  /** Every connection accepted so far. */
  connections: net.Socket[];
  close(): Promise<void>;
}

function serve(handler: (c: net.Socket) => void, listen: { host?: string; path?: string }): Promise<TestTarget> {
  const connections: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (c) => {
    connections.push(c);
    c.on('error', () => {});
    handler(c);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const onListening = (): void => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : 0,
        ...(listen.path ? { path: listen.path } : {}),
        connections,
        close: () =>
          new Promise<void>((r) => {
            for (const c of connections) c.destroy();
            server.close(() => r());
          }),
      });
    };
    if (listen.path) server.listen(listen.path, onListening);
    else server.listen(0, listen.host ?? '127.0.0.1', onListening);
  });
}

/** Echoes every byte back; ends its side when the peer ends. */
export function echoTarget(listen: { host?: string; path?: string } = {}): Promise<TestTarget> {
  return serve((c) => c.pipe(c), listen);
}

/**
 * Echoes every byte back, pausing 2 ms after each read, so writes toward it queue up (the
 * proxy's read buffers stay pinned); ends its side when the peer ends. Closed after the test.
 */
export async function slowEchoTarget(): Promise<TestTarget> {
  const t = await serve((c) => {
    c.on('data', (d) => {
      c.write(d);
      c.pause();
      setTimeout(() => c.resume(), 2);
    });
    c.on('end', () => c.end());
  }, {});
  defer(() => t.close());
  return t;
}

/**
 * Collects what each connection sends. `received(i)` concatenates connection `i`; `ended(i)`
 * resolves when connection `i` (waiting for it to arrive if need be) has ended its side.
 * Like most servers, it ends its own side when the peer does.
 */
export async function sinkTarget(): Promise<
  TestTarget & { received(i?: number): Buffer; ended(i?: number): Promise<void> }
> {
  const chunks: Buffer[][] = [];
  const ends: { promise: Promise<void>; resolve: () => void }[] = [];
  const endOf = (i: number): { promise: Promise<void>; resolve: () => void } => {
    while (ends.length <= i) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      ends.push({ promise, resolve });
    }
    return ends[i]!;
  };
  const t = await serve((c) => {
    const i = chunks.length;
    chunks.push([]);
    c.on('data', (d) => chunks[i]!.push(d));
    c.on('end', () => {
      endOf(i).resolve();
      c.end();
    });
  }, {});
  return Object.assign(t, {
    received: (i = 0) => Buffer.concat(chunks[i] ?? []),
    ended: (i = 0) => endOf(i).promise,
  });
}

/** Sends `data` on each connection, then ends it when `end` is true. */
export function sourceTarget(data: Buffer, end = true): Promise<TestTarget> {
  return serve((c) => {
    c.write(data);
    if (end) c.end();
  }, {});
}

/** A port on 127.0.0.1 that nothing listens on (bound then released). */
export async function unusedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/**
 * A loopback listener that never completes a connection: backlog 0 and never accepting, its
 * one queue slot filled by us, so the kernel drops further SYNs (a full accept queue drops
 * SYNs whatever the SYN-cookie setting) and the connect stays in SYN-SENT. Returns its port;
 * the listener and the filling connections are cleaned up after the current test.
 */
export async function blackhole(): Promise<number> {
  const child = spawn(
    PYTHON,
    [
      '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\n' +
        'print(s.getsockname()[1],flush=True)\nsys.stdin.read()',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  defer(() => child.kill('SIGKILL'));
  const port = await withTimeout(
    new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString())))),
    10000,
    'listener port',
  );
  const fillers: net.Socket[] = [];
  defer(() => fillers.forEach((s) => s.destroy()));
  // Connections until one hangs: the queue is full from then on.
  for (let i = 0; i < 4; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
    const connected = await Promise.race([
      new Promise<boolean>((r) => s.once('connect', () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
    ]);
    if (!connected) return port;
  }
  throw new Error('the listener kept accepting connections');
}
