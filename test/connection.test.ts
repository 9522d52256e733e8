// The connection record (server/connection.ts) against the library server, over real sockets:
// one handshake deadline from accept across first bytes, TLS and the HTTP request (a client
// whose first byte comes late and whose request completes after the deadline never gets a 101,
// and one line says why); TLS over --unix-listen with concurrent clients, each with its own
// number and a real peer label; close() with stalled handshakes closing them at once; and, on a
// spawned server with a low open-file limit, refusals that are counted in the log.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import WebSocket from 'ws';
import { createLogger, startWebsockify, type WebsockifyOptions, type WebsockifyServer } from '../src/index.js';
import { makeTestPki, type TestPki } from './helpers/certs.js';
import { defer } from './helpers/cleanup.js';
import { BIN, runCli } from './helpers/cli.js';
import { silentConnections, upgradeRequest } from './helpers/clients.js';
import { eventually, sleep, withTimeout } from './helpers/wait.js';
import { echoTarget, type TestTarget } from './helpers/targets.js';

let pki: TestPki;
let target: TestTarget;

beforeAll(async () => {
  [pki, target] = await Promise.all([makeTestPki(), echoTarget()]);
});
afterAll(async () => {
  await target.close();
  await pki.remove();
});

/** An in-process server logging every line (debug included) into `lines`; closed after the test. */
async function serve(options: Partial<WebsockifyOptions>): Promise<{ server: WebsockifyServer; lines: string[] }> {
  const lines: string[] = [];
  const logger = createLogger({ verbose: true, sinks: [(_level, line) => lines.push(line)] });
  const server = await startWebsockify({
    listen: { host: '127.0.0.1', port: 0 },
    target: `127.0.0.1:${target.port}`,
    logger,
    ...options,
  });
  defer(() => withTimeout(server.close(), 20000, 'server close'));
  return { server, lines };
}

const DEADLINE_S = 2;
/** When the late client sends its first byte: well inside the deadline. */
const FIRST_BYTE_MS = 1500;
/**
 * The request is complete only this long after connecting: past the deadline, but before the
 * old per-layer deadlines (restarted at the first byte) would have ended it.
 */
const COMPLETE_AFTER_MS = 2700;

/**
 * Writes `request` in small pieces, the last one only once COMPLETE_AFTER_MS have passed since
 * `connectedAt` (and only if the socket is still open): a request that arrives slowly.
 */
async function trickle(socket: Duplex, request: string, connectedAt: number): Promise<void> {
  const pieces = request.match(/[^]{1,12}/g) ?? [];
  const last = pieces.pop() ?? '';
  for (const piece of pieces) {
    if (socket.destroyed || !socket.writable) return;
    socket.write(piece);
    await sleep(40);
  }
  while (Date.now() - connectedAt < COMPLETE_AFTER_MS) await sleep(50);
  if (!socket.destroyed && socket.writable) socket.write(last);
}

/** What the client received until the server closed the connection. */
function collect(socket: Duplex): Promise<string> {
  const got: Buffer[] = [];
  socket.on('data', (d: Buffer) => got.push(d));
  socket.on('error', () => {});
  return withTimeout(
    new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(got).toString('latin1')))),
    15000,
    'the server closing the late client',
  );
}

const deadlineLines = (lines: string[]): string[] => lines.filter((l) => /handshake not done within/.test(l));

describe('one handshake deadline from accept', () => {
  it('plain: a first byte at 1.5 s of 2 s and a request completed after 2 s get 408, never 101', async () => {
    const { server, lines } = await serve({ handshakeTimeout: DEADLINE_S });
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    const response = collect(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
    const connectedAt = Date.now();
    await sleep(FIRST_BYTE_MS);
    await trickle(socket, upgradeRequest('/'), connectedAt);
    const answer = await response;
    expect(answer).not.toMatch(/101 Switching Protocols/);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    // One line says why, naming the stage; nothing else complains about this connection.
    expect(deadlineLines(lines)).toEqual([
      `1: 127.0.0.1: handshake not done within 2 s (no complete request); dropped`,
    ]);
    expect(lines.filter((l) => /^1: /.test(l))).toHaveLength(1);
  });

  it('TLS: the ClientHello at 1.5 s and a request completed after 2 s get no 101 either', async () => {
    const { server, lines } = await serve({ handshakeTimeout: DEADLINE_S, tls: { cert: pki.server.combined } });
    const { port } = server.address() as net.AddressInfo;
    const raw = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    const connectedAt = Date.now();
    // The TLS client writes through a pipe that holds its first bytes back until 1.5 s.
    let held: { chunk: Buffer; done: () => void }[] | undefined = [];
    const pipe = new Duplex({
      write(chunk: Buffer, _encoding, done) {
        if (held) held.push({ chunk, done });
        else raw.write(chunk, () => done());
      },
      read() {},
      destroy(err, done) {
        raw.destroy();
        done(err);
      },
    });
    raw.on('data', (d) => pipe.push(d));
    raw.on('end', () => pipe.push(null));
    raw.on('close', () => pipe.destroy());
    raw.on('error', () => {});
    const client = tls.connect({ socket: pipe, ca: readFileSync(pki.ca), servername: 'localhost' });
    const response = collect(client);
    await sleep(FIRST_BYTE_MS);
    for (const { chunk, done } of held) raw.write(chunk, () => done());
    held = undefined;
    await withTimeout(new Promise((resolve) => client.once('secureConnect', resolve)), 5000, 'TLS handshake');
    await trickle(client, upgradeRequest('/'), connectedAt);
    const answer = await response;
    expect(answer).not.toMatch(/101 Switching Protocols/);
    expect(deadlineLines(lines)).toEqual([
      `1: 127.0.0.1: handshake not done within 2 s (no complete request); dropped`,
    ]);
    expect(lines.filter((l) => /TLS handshake failed/.test(l))).toEqual([]);
  });
});

describe('TLS on a unix socket', () => {
  function tempSocket(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-conn-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    return path.join(dir, 'wss.sock');
  }

  /** A client that starts a TLS handshake on the unix socket and stalls; resolves when it is closed. */
  function stalledHandshake(sock: string): { closed: Promise<void>; isClosed: () => boolean } {
    let closed = false;
    const s = net.connect(sock, () => s.write(Buffer.from([0x16, 0x03, 0x01])));
    s.on('error', () => {});
    defer(() => s.destroy());
    return {
      closed: new Promise((resolve) =>
        s.once('close', () => {
          closed = true;
          resolve();
        }),
      ),
      isClosed: () => closed,
    };
  }

  it('serves concurrent wss clients, each with its own number and a unix: peer, and close() ends stalled handshakes at once', async () => {
    const sock = tempSocket();
    // A long deadline: only close() can end the stalled handshakes within this test.
    const { server, lines } = await serve({
      listen: { path: sock },
      handshakeTimeout: 120,
      tls: { cert: pki.server.combined },
    });
    const stalled = [stalledHandshake(sock), stalledHandshake(sock), stalledHandshake(sock)];
    const ca = readFileSync(pki.ca);
    const clients = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const ws = new WebSocket('wss://localhost/websockify', ['binary'], {
          createConnection: () => tls.connect({ path: sock, ca, servername: 'localhost' }),
        });
        ws.on('error', () => {});
        await withTimeout(new Promise((resolve) => ws.once('open', resolve)), 10000, `wss client ${i}`);
        const data = Buffer.from(`client ${i}: ${'x'.repeat(i * 100)}`);
        const echoed = new Promise<Buffer>((resolve) => ws.once('message', (m: Buffer) => resolve(m)));
        ws.send(data);
        expect((await withTimeout(echoed, 5000, `echo ${i}`)).equals(data)).toBe(true);
        return ws;
      }),
    );
    const peer = `unix:${sock}`;
    const secured = lines.filter((l) => / TLSv1\.[23] connection$/.test(l));
    expect(secured).toHaveLength(6);
    const ids = secured.map((l) => l.split(':')[0]);
    expect(new Set(ids).size).toBe(6);
    for (const line of secured) expect(line).toMatch(new RegExp(`^\\d+: ${peer}: TLSv1\\.[23] connection$`));
    const sessions = lines.filter((l) => /WebSocket connection on \/websockify/.test(l));
    expect(sessions.map((l) => l.split(':')[0]).sort()).toEqual([...ids].sort());
    for (const line of sessions) expect(line.startsWith(`${line.split(':')[0]}: ${peer}: `)).toBe(true);
    expect(lines.filter((l) => /undefined|unknown/.test(l))).toEqual([]);
    expect(stalled.some((s) => s.isClosed())).toBe(false);

    // close() resolves only once every connection is gone: the stalled ones are closed by it.
    const closedClients = clients.map((ws) => new Promise((resolve) => ws.once('close', resolve)));
    await withTimeout(server.close(), 20000, 'close() with stalled TLS handshakes on a unix socket');
    await withTimeout(Promise.all(stalled.map((s) => s.closed)), 5000, 'stalled handshakes closed');
    await withTimeout(Promise.all(closedClients), 5000, 'clients closed');
  });
});

describe('at the open-file limit', () => {
  it('refusals are logged with their count, and the server serves again once descriptors are free', async () => {
    // prlimit sets the limit of the spawned server only.
    const cli = runCli(['127.0.0.1:0', `127.0.0.1:${target.port}`], process.env, {
      via: ['prlimit', '--nofile=128:128', process.execPath, BIN],
    });
    defer(() => cli.kill());
    const port = Number((await cli.waitForStderr(/Listen on 127\.0\.0\.1:(\d+)/, 10000))[1]);
    await cli.waitForStderr(/^ {2}- proxying from .*\n/m, 10000);

    // 200 connections that send nothing: the server holds each until its handshake deadline.
    const TOTAL = 200;
    const { sockets, open, refused } = silentConnections(port, TOTAL);
    const logged = (): number =>
      [
        ...cli
          .stderr()
          .matchAll(/Refused (\d+) connections?: too many open files \(EMFILE; the open-file limit is 128\)/g),
      ]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    // Every refusal the clients saw is in the log, none more; the others are still held.
    await eventually(
      () => refused() > 0 && open() + refused() === TOTAL && logged() === refused(),
      () => `open ${open()}, refused ${refused()}, logged ${logged()}; stderr:\n${cli.stderr()}`,
      { ms: 15000 },
    );
    expect(open()).toBeGreaterThan(50);

    for (const s of sockets) s.destroy();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['binary']);
    ws.on('error', () => {});
    await withTimeout(new Promise((resolve) => ws.once('open', resolve)), 10000, 'a client after the burst');
    const data = Buffer.from('served again');
    const echoed = new Promise<Buffer>((resolve) => ws.once('message', (m: Buffer) => resolve(m)));
    ws.send(data);
    expect((await withTimeout(echoed, 5000, 'echo')).equals(data)).toBe(true);
    ws.close();
  });
});
