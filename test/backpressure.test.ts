// Backpressure through the real `websockify` command, both ways, with the proxy's memory
// measured from /proc/PID/status: (a) a client that reads nothing while the target tries to
// send 512 MiB; (b) a target that reads nothing while the client sends as much as it can.
// In both cases the proxy must stop reading the fast side, its RSS must stay bounded, and once
// the slow side reads again the bytes must arrive exactly. Every wait is for a condition (the
// fast side held, a buffer full, bytes arrived), never for a time window: the machine may be
// loaded.

import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { pattern } from './helpers/bytes.js';
import { defer } from './helpers/cleanup.js';
import { startCliForTest } from './helpers/cli.js';
import { openWs } from './helpers/clients.js';
import { rssBytes } from './helpers/procfs.js';
import { rawWebSocket } from './helpers/raw-websocket.js';
import { eventually, withTimeout } from './helpers/wait.js';

const MiB = 1024 * 1024;
const TOTAL = 512 * MiB;
const CHUNK = MiB;
/** How much RSS the proxy may gain while one side is stalled. */
const RSS_BUDGET = 100 * MiB;
/** Verified prefix once the slow side reads again. */
const VERIFY = 16 * MiB;

/** Checks in a row without any progress after which a side counts as held (at 40 ms: 1 s). */
const STILL_CHECKS = 25;

/** Index of the first differing byte, or -1 when equal (a readable failure for big buffers). */
function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

function closeServer(server: net.Server, sockets: net.Socket[]): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((r) => server.close(() => r()));
}

/** A target that writes TOTAL bytes of `pattern` as fast as the socket lets it, honouring drain. */
interface Firehose {
  port: number;
  /** Bytes handed to write() so far (including what sits in the socket's own buffer). */
  pushed(): number;
  /** True while the last write() returned false and no 'drain' came yet. */
  blocked(): boolean;
  /** Largest writableLength seen on the target socket. */
  maxWritableLength(): number;
  connected: Promise<void>;
}

async function firehose(): Promise<Firehose> {
  const sockets: net.Socket[] = [];
  let pushed = 0;
  let blocked = false;
  let maxWritable = 0;
  let onConnect!: () => void;
  const connected = new Promise<void>((r) => (onConnect = r));
  const server = net.createServer((c) => {
    sockets.push(c);
    c.on('error', () => {});
    onConnect();
    const pump = (): void => {
      while (pushed < TOTAL && !c.destroyed) {
        const ok = c.write(pattern(pushed, CHUNK));
        pushed += CHUNK;
        maxWritable = Math.max(maxWritable, c.writableLength);
        if (!ok) {
          blocked = true;
          c.once('drain', () => {
            blocked = false;
            setImmediate(pump);
          });
          return;
        }
      }
      if (pushed >= TOTAL) c.end();
    };
    pump();
  });
  const port = await listen(server);
  defer(() => closeServer(server, sockets));
  return {
    port,
    pushed: () => pushed,
    blocked: () => blocked,
    maxWritableLength: () => maxWritable,
    connected,
  };
}

describe('backpressure', () => {
  it('a client that reads nothing: the target is stopped, proxy RSS stays bounded, then the bytes arrive exactly', async () => {
    const source = await firehose();
    const cli = await startCliForTest(['127.0.0.1:0', `127.0.0.1:${source.port}`]);
    const pid = cli.child.pid!;
    const client = await rawWebSocket(cli.port, { keep: VERIFY });
    defer(() => client.destroy());
    // The client stops reading right after the handshake.
    client.socket.pause();
    expect(client.status).toBe(101);
    await withTimeout(source.connected, 5000, 'target connection');
    const baseline = await rssBytes(pid);
    let maxRss = baseline;

    // Wait until the target is held: its writes blocked, and nothing more taken for
    // STILL_CHECKS checks in a row (or it pushed everything: the proxy did not stop it).
    let last = -1;
    let still = 0;
    await eventually(
      async () => {
        maxRss = Math.max(maxRss, await rssBytes(pid));
        const now = source.pushed();
        still = source.blocked() && now === last ? still + 1 : 0;
        last = now;
        return still >= STILL_CHECKS || now >= TOTAL;
      },
      () => `the target to be held (pushed ${source.pushed()} bytes)`,
      { ms: 40000, every: 40 },
    );
    const pushedNow = source.pushed();
    const growth = Math.max(maxRss, await rssBytes(pid)) - baseline;

    // The proxy stopped reading the target: it is stuck on a full socket far short of 512 MiB.
    expect(source.blocked()).toBe(true);
    expect(pushedNow).toBeLessThan(128 * MiB);
    expect(source.maxWritableLength()).toBeGreaterThanOrEqual(CHUNK);
    // ...and did not buffer it in memory.
    expect(growth).toBeLessThan(RSS_BUDGET);
    expect(client.received()).toBeLessThan(pushedNow);

    // The client reads again: everything flows, byte-exact.
    client.socket.resume();
    await client.waitForPayload(VERIFY, 20000);
    const got = client.kept();
    expect(got.length).toBe(VERIFY);
    expect(firstDifference(got, pattern(0, VERIFY))).toBe(-1);
    // The target is moving again.
    await eventually(() => source.pushed() > pushedNow, 'target writes resume');
  }, 90000);

  it('a target that reads nothing: the proxy stops reading the client (its bufferedAmount grows), RSS stays bounded', async () => {
    const sockets: net.Socket[] = [];
    const received: Buffer[] = [];
    let receivedBytes = 0;
    let onConnect!: (c: net.Socket) => void;
    const connected = new Promise<net.Socket>((r) => (onConnect = r));
    const server = net.createServer((c) => {
      sockets.push(c);
      c.on('error', () => {});
      c.pause(); // never reads until the test says so
      c.on('data', (d: Buffer) => {
        if (receivedBytes < VERIFY) received.push(d.subarray(0, VERIFY - receivedBytes));
        receivedBytes += d.length;
      });
      onConnect(c);
    });
    const port = await listen(server);
    defer(() => closeServer(server, sockets));

    const cli = await startCliForTest(['127.0.0.1:0', `127.0.0.1:${port}`]);
    const pid = cli.child.pid!;
    const client = await openWs(`ws://127.0.0.1:${cli.port}`, { perMessageDeflate: false });
    defer(() => client.ws.terminate());
    const targetSocket = await withTimeout(connected, 5000, 'target connection');
    const baseline = await rssBytes(pid);

    // Send 1 MiB messages until the client's own buffer holds 63 MiB (the proxy took no more),
    // or everything was sent (it kept taking): however long that takes on this machine.
    const CAP = 64 * MiB;
    let sent = 0;
    let maxRss = baseline;
    let sends = 0;
    const giveUp = Date.now() + 45000;
    while (client.ws.bufferedAmount < CAP - CHUNK && sent < TOTAL) {
      if (Date.now() > giveUp)
        throw new Error(`the client's buffer never filled (sent ${sent}, buffered ${client.ws.bufferedAmount})`);
      client.ws.send(pattern(sent, CHUNK));
      sent += CHUNK;
      await new Promise((r) => setImmediate(r));
      if (++sends % 8 === 0) maxRss = Math.max(maxRss, await rssBytes(pid));
    }
    maxRss = Math.max(maxRss, await rssBytes(pid));
    const buffered = client.ws.bufferedAmount;
    const leftTheClient = sent - buffered;

    // The proxy stopped reading: the client could not hand its data over.
    expect(buffered).toBeGreaterThanOrEqual(CAP - CHUNK);
    expect(sent).toBeLessThan(TOTAL);
    expect(leftTheClient).toBeLessThan(128 * MiB);
    expect(maxRss - baseline).toBeLessThan(RSS_BUDGET);

    // The target reads again: the first bytes arrive exactly.
    targetSocket.resume();
    await eventually(
      () => receivedBytes >= VERIFY,
      () => `${VERIFY} bytes at the target (have ${receivedBytes})`,
      {
        ms: 20000,
      },
    );
    const got = Buffer.concat(received);
    expect(got.length).toBe(VERIFY);
    expect(firstDifference(got, pattern(0, VERIFY))).toBe(-1);
    // And the client's buffer drains.
    await eventually(() => client.ws.bufferedAmount < buffered, 'client buffer drains');
  }, 90000);

  // While the proxy holds the client back (target not reading), the client's pongs sit unread
  // behind its data: the heartbeat must not count those intervals against it.
  it('--heartbeat does not drop a live client whose uploads are held back by a stalled target', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((c) => {
      sockets.push(c);
      c.on('error', () => {});
      c.pause();
    });
    const port = await listen(server);
    defer(() => closeServer(server, sockets));
    const cli = await startCliForTest(['--heartbeat', '1', '127.0.0.1:0', `127.0.0.1:${port}`]);
    const client = await openWs(`ws://127.0.0.1:${cli.port}`, { perMessageDeflate: false });
    defer(() => client.ws.terminate());
    let closed = false;
    void client.closed.then(() => (closed = true));
    let sent = 0;
    while (client.ws.bufferedAmount < 16 * MiB && sent < 256 * MiB) {
      client.ws.send(pattern(sent, CHUNK));
      sent += CHUNK;
      await new Promise((r) => setImmediate(r));
    }
    // The proxy's own pings are the clock: two unanswered intervals would drop a dead client,
    // so after five pings (four intervals) a client wrongly counted dead is gone.
    const before = client.pings.length;
    await eventually(() => closed || client.pings.length >= before + 5, 'five more pings', { ms: 20000 });
    expect(closed).toBe(false);
  }, 40000);
});
