// Backpressure through the real `websockify` command, both ways, with the proxy's memory
// measured from /proc/PID/status: (a) a client that reads nothing while the target tries to
// send 512 MiB; (b) a target that reads nothing while the client sends as much as it can.
// In both cases the proxy must stop reading the fast side, its RSS must stay bounded, and once
// the slow side reads again the bytes must arrive exactly.

import { afterEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { withTimeout } from './helpers/clients.js';
import { CliTracker, openWs, pattern, rawWebSocket, rssBytes, sampleRss, sleep } from './helpers/process.js';

const MiB = 1024 * 1024;
const TOTAL = 512 * MiB;
const CHUNK = MiB;
/** How much RSS the proxy may gain while one side is stalled. */
const RSS_BUDGET = 100 * MiB;
/** Verified prefix once the slow side reads again. */
const VERIFY = 16 * MiB;

const clis = new CliTracker();
let cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
  await clis.killAll();
});

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
  cleanups.push(() => closeServer(server, sockets));
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
    const cli = await clis.start(['127.0.0.1:0', `127.0.0.1:${source.port}`]);
    const pid = cli.child.pid!;
    const client = await rawWebSocket(cli.port, { keep: VERIFY });
    cleanups.push(() => client.destroy());
    // The client stops reading right after the handshake.
    client.socket.pause();
    expect(client.status).toBe(101);
    await withTimeout(source.connected, 5000, 'target connection');
    const baseline = await rssBytes(pid);

    const samples = await sampleRss(pid, 200, 3000);
    const pushedThen = source.pushed();
    await sleep(600);
    const pushedNow = source.pushed();
    const growth = Math.max(...samples, await rssBytes(pid)) - baseline;

    // The proxy stopped reading the target: it is stuck on a full socket far short of 512 MiB.
    expect(source.blocked()).toBe(true);
    expect(pushedNow).toBe(pushedThen);
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
    await withTimeout(
      (async () => {
        while (source.pushed() <= pushedNow) await sleep(20);
      })(),
      10000,
      'target writes resume',
    );
  }, 60000);

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
    cleanups.push(() => closeServer(server, sockets));

    const cli = await clis.start(['127.0.0.1:0', `127.0.0.1:${port}`]);
    const pid = cli.child.pid!;
    const client = await openWs(`ws://127.0.0.1:${cli.port}`, { perMessageDeflate: false });
    cleanups.push(() => client.ws.terminate());
    const targetSocket = await withTimeout(connected, 5000, 'target connection');
    const baseline = await rssBytes(pid);

    // Send 1 MiB messages as long as the client's own buffer stays under 64 MiB, for 3 s.
    const CAP = 64 * MiB;
    let sent = 0;
    let maxRss = baseline;
    const until = Date.now() + 3000;
    let nextSample = 0;
    while (Date.now() < until && sent < TOTAL) {
      if (client.ws.bufferedAmount < CAP) {
        client.ws.send(pattern(sent, CHUNK));
        sent += CHUNK;
        await new Promise((r) => setImmediate(r));
      } else {
        await sleep(20);
      }
      if (Date.now() >= nextSample) {
        maxRss = Math.max(maxRss, await rssBytes(pid));
        nextSample = Date.now() + 200;
      }
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
    await withTimeout(
      (async () => {
        while (receivedBytes < VERIFY) await sleep(20);
      })(),
      20000,
      `${VERIFY} bytes at the target`,
    );
    const got = Buffer.concat(received);
    expect(got.length).toBe(VERIFY);
    expect(firstDifference(got, pattern(0, VERIFY))).toBe(-1);
    // And the client's buffer drains.
    await withTimeout(
      (async () => {
        while (client.ws.bufferedAmount >= buffered) await sleep(20);
      })(),
      10000,
      'client buffer drains',
    );
  }, 60000);

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
    cleanups.push(() => closeServer(server, sockets));
    const cli = await clis.start(['--heartbeat', '1', '127.0.0.1:0', `127.0.0.1:${port}`]);
    const client = await openWs(`ws://127.0.0.1:${cli.port}`, { perMessageDeflate: false });
    cleanups.push(() => client.ws.terminate());
    let sent = 0;
    while (client.ws.bufferedAmount < 16 * MiB && sent < 256 * MiB) {
      client.ws.send(pattern(sent, CHUNK));
      sent += CHUNK;
      await sleep(5);
    }
    const outcome = await Promise.race([client.closed, sleep(4500).then(() => 'still open' as const)]);
    expect(outcome).toBe('still open');
    expect(client.pings.length).toBeGreaterThanOrEqual(3);
  }, 30000);
});
