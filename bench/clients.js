// Benchmark clients. Forked by bench/run.js for each measurement so the client never
// shares an event loop with the harness; also usable by hand:
//
//   node bench/clients.js '{"kind":"rtt","endpoint":{"proto":"ws","host":"127.0.0.1","port":8080},"count":2000}'
//
// An endpoint is {proto:'ws'|'tcp', host, port, path?, subprotocols?, client?}. 'ws' speaks
// WebSocket (binary frames, ws library, no compression); 'tcp' is plain TCP for the raw
// relay. client 'lean' opens bench/lean-client.js's connection instead (the bulk tests do).
// Jobs: up, down, throughputInterleaved, aggregate, rtt, rttInterleaved, rate, rateInterleaved,
// memory, probe. While a job runs the client can send {type:'mark', name, wait} to the
// parent, which records CPU/memory snapshots and, for wait marks, answers {type:'continue'}.
import crypto from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';
import { openLean } from './lean-client.js';
import { SendWindow } from './send-window.js';

const now = () => process.hrtime.bigint();
const seconds = (a, b) => Number(b - a) / 1e9;
const micros = (a, b) => Number(b - a) / 1e3;

let bufferutilLoaded = false;
try {
  await import('bufferutil');
  bufferutilLoaded = !process.env.WS_NO_BUFFER_UTIL;
} catch {
  bufferutilLoaded = false;
}

// ------------------------------------------------------------------ connections

const WS_MAX_PENDING = 16; // un-flushed 64 KiB sends allowed before waiting

class WsConn {
  constructor(ws) {
    this.ws = ws;
    this.onData = null;
    this.unclaimed = [];
    this.error = null;
    this.window = new SendWindow(WS_MAX_PENDING, (err) => (this.error ??= err));
    this.closed = new Promise((resolve) => ws.once('close', resolve));
    // Messages parsed in the same read as the 101 arrive before anyone listens: keep those
    // (only until the first listener; later unclaimed data is not wanted).
    ws.on('message', (data) => {
      if (this.onData) this.onData(data);
      else if (this.unclaimed) this.unclaimed.push(data);
    });
    ws.on('error', (err) => {
      this.error = err;
    });
  }

  /** Queue bytes; false means "wait for drained() before writing more". */
  write(buf) {
    const more = this.window.add();
    this.ws.send(buf, { binary: true }, this.window.done);
    return more;
  }

  drained() {
    return this.window.drained();
  }

  async close(timeoutMs = 5000) {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState !== WebSocket.CLOSING) this.ws.close(1000);
    const timer = setTimeout(() => this.ws.terminate(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  destroy() {
    this.ws.terminate();
  }
}

class TcpConn {
  constructor(sock) {
    this.sock = sock;
    this.onData = null;
    this.unclaimed = [];
    this.error = null;
    this.closed = new Promise((resolve) => sock.once('close', resolve));
    sock.on('data', (data) => {
      if (this.onData) this.onData(data);
      else if (this.unclaimed) this.unclaimed.push(data);
    });
    sock.on('error', (err) => {
      this.error = err;
    });
  }

  write(buf) {
    return this.sock.write(buf);
  }

  drained() {
    return Promise.race([new Promise((resolve) => this.sock.once('drain', resolve)), this.closed]);
  }

  async close(timeoutMs = 5000) {
    if (this.sock.destroyed) return;
    this.sock.end();
    const timer = setTimeout(() => this.sock.destroy(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  destroy() {
    this.sock.destroy();
  }
}

function open(ep, timeoutMs = 15000) {
  if (ep.client === 'lean') return openLean(ep, timeoutMs);
  if (ep.proto === 'tcp') {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: ep.host, port: ep.port, noDelay: true });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error('tcp connect timeout'));
      }, timeoutMs);
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(new TcpConn(sock));
      });
    });
  }
  return new Promise((resolve, reject) => {
    const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
    const url = `ws://${host}:${ep.port}${ep.path || '/'}`;
    const options = {
      perMessageDeflate: false,
      maxPayload: 0,
      skipUTF8Validation: true,
      handshakeTimeout: timeoutMs,
    };
    const ws = ep.subprotocols?.length ? new WebSocket(url, ep.subprotocols, options) : new WebSocket(url, options);
    ws.binaryType = 'nodebuffer';
    const fail = (err) => {
      ws.removeAllListeners('open');
      ws.terminate();
      reject(err);
    };
    ws.once('error', fail);
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      fail(new Error(`unexpected HTTP ${res.statusCode} on upgrade`));
    });
    ws.once('open', () => {
      ws.removeListener('error', fail);
      ws.on('socket-error', () => {});
      const conn = new WsConn(ws);
      if (ws._socket) ws._socket.setNoDelay(true);
      resolve(conn);
    });
  });
}

function expectBytes(conn, n) {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onClose = () => reject(conn.error || new Error(`connection closed after ${got}/${n} bytes`));
    conn.closed.then(onClose);
    conn.onData = (data) => {
      got += data.length;
      if (got >= n) {
        conn.onData = null;
        resolve(got);
      }
    };
    const early = conn.unclaimed ?? [];
    conn.unclaimed = null;
    for (const data of early) conn.onData?.(data);
  });
}

async function echoOnce(conn, payload) {
  const p = expectBytes(conn, payload.length);
  conn.write(payload);
  await p;
}

function latencyStats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const pct = (p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
  return {
    count: n,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    min: sorted[0],
    max: sorted[n - 1],
    mean: sorted.reduce((a, b) => a + b, 0) / n,
  };
}

// ------------------------------------------------------------------ harness link

function mark(name, wait = false, extra = {}) {
  if (!process.send) return Promise.resolve();
  process.send({ type: 'mark', name, wait, ...extra });
  if (!wait) return Promise.resolve();
  return new Promise((resolve) => {
    const onMsg = (msg) => {
      if (msg && msg.type === 'continue' && msg.name === name) {
        process.off('message', onMsg);
        resolve();
      }
    };
    process.on('message', onMsg);
  });
}

/**
 * `total` connections to `endpoint` (connect, upgrade, one echo of `payload`, close),
 * `concurrency` at a time, none started after `limitSec`; each one's time goes to `latencies`.
 */
async function connectBatch(endpoint, payload, total, concurrency, limitSec, latencies) {
  let started = 0;
  let done = 0;
  let errors = 0;
  let lastError = null;
  const t0 = now();
  const deadline = t0 + BigInt(Math.round(limitSec * 1e9));
  const worker = async () => {
    while (started < total && now() < deadline) {
      started++;
      const c0 = now();
      try {
        const conn = await open(endpoint, 10000);
        await echoOnce(conn, payload);
        await conn.close();
        done++;
        if (latencies) latencies.push(micros(c0, now()));
      } catch (err) {
        errors++;
        lastError = String(err?.message || err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done, errors, lastError, seconds: seconds(t0, now()) };
}

/** p50 and p99 of connection times in microseconds (null when there are none). */
function latencyPercentiles(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null;
  return { latencyP50: pct(50), latencyP99: pct(99) };
}

// ------------------------------------------------------------------ jobs

/** An 8-byte big-endian length, as the sink and the request target read it. */
function lengthHeader(bytes) {
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(BigInt(bytes));
  return header;
}

/** Streams `bytes` of `buf` (chunk-sized) to the sink on `conn`, after the header; waits for its ack. */
async function sendStream(conn, bytes, buf) {
  const acked = expectBytes(conn, 1);
  acked.catch(() => {});
  conn.write(lengthHeader(bytes));
  let sent = 0;
  while (sent < bytes) {
    const n = Math.min(buf.length, bytes - sent);
    sent += n;
    if (!conn.write(n === buf.length ? buf : buf.subarray(0, n))) await conn.drained();
    if (conn.error) throw conn.error;
  }
  await acked;
}

/** Asks the request target for `bytes` on `conn` and waits until they all arrived. */
async function receiveStream(conn, bytes) {
  const got = expectBytes(conn, bytes);
  conn.write(lengthHeader(bytes));
  await got;
}

/** Client -> target: stream `bytes` to the sink in `chunk`-sized messages, wait for its ack. */
async function upOnce(ep, bytes, chunkSize, markNames, markExtra = {}) {
  const buf = crypto.randomBytes(chunkSize);
  const conn = await open(ep);
  if (markNames) await mark(markNames[0], false, markExtra);
  const t0 = now();
  await sendStream(conn, bytes, buf);
  const t1 = now();
  if (markNames) await mark(markNames[1], false, markExtra);
  await conn.close();
  return { bytes, seconds: seconds(t0, t1) };
}

/** Target -> client: the source sends on connect; count `bytes`, then close. */
async function downOnce(ep, bytes, markNames, markExtra = {}) {
  const conn = await open(ep);
  const got = expectBytes(conn, bytes);
  got.catch(() => {});
  if (markNames) await mark(markNames[0], false, markExtra);
  const t0 = now();
  await got;
  const t1 = now();
  if (markNames) await mark(markNames[1], false, markExtra);
  await conn.close(2000);
  return { bytes, seconds: seconds(t0, t1) };
}

const jobs = {
  async probe({ endpoint }) {
    const conn = await open(endpoint);
    await echoOnce(conn, Buffer.from('websockify-bench-probe'));
    await conn.close();
    return { ok: true };
  },

  async up({ endpoint, bytes, chunk = 65536, warmupBytes = 0 }) {
    if (warmupBytes) await upOnce(endpoint, warmupBytes, chunk, null);
    const r = await upOnce(endpoint, bytes, chunk, ['start', 'end']);
    return { ...r, mibPerSec: bytes / 1048576 / r.seconds };
  },

  async down({ endpoint, bytes, warmupBytes = 0 }) {
    if (warmupBytes) {
      await downOnce(endpoint, warmupBytes, null);
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = await downOnce(endpoint, bytes, ['start', 'end']);
    return { ...r, mibPerSec: bytes / 1048576 / r.seconds };
  },

  /**
   * Bulk transfers to several endpoints, alternating between them: `reps` timed
   * transfers each, the order rotating every repetition, after one warm-up transfer
   * per endpoint. Marks carry the endpoint name so the harness can read the CPU of
   * the right proxy.
   */
  async throughputInterleaved({ endpoints, direction, bytes, chunk = 65536, warmupBytes = 0, reps = 1 }) {
    const names = Object.keys(endpoints);
    const transfer = (n, size, marks, r) =>
      direction === 'up'
        ? upOnce(endpoints[n], size, chunk, marks, { system: n, rep: r })
        : downOnce(endpoints[n], size, marks, { system: n, rep: r });
    if (warmupBytes) {
      for (const n of names) {
        await transfer(n, warmupBytes, null, -1);
        if (direction === 'down') await new Promise((r) => setTimeout(r, 200));
      }
    }
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < reps; r++) {
      for (let j = 0; j < names.length; j++) {
        const n = names[(r + j) % names.length];
        const res = await transfer(n, bytes, [`start:${n}:${r}`, `end:${n}:${r}`], r);
        runs[n].push({ ...res, mibPerSec: bytes / 1048576 / res.seconds });
        if (direction === 'down') await new Promise((r) => setTimeout(r, 50));
      }
    }
    return { systems: runs, reps };
  },

  /**
   * Many streams at once (the aggregate test): opens `streams` connections, waits for the
   * harness's go (a waiting mark, so that several client processes start together), then
   * moves `bytes` over each of them concurrently: client->target to the sink, target->client
   * from the request target.
   */
  async aggregate({ endpoint, direction, streams, bytes, chunk = 65536 }) {
    const buf = crypto.randomBytes(chunk);
    const conns = await Promise.all(Array.from({ length: streams }, () => open(endpoint, 30000)));
    await mark('ready', true);
    const t0 = now();
    await Promise.all(conns.map((c) => (direction === 'up' ? sendStream(c, bytes, buf) : receiveStream(c, bytes))));
    const t1 = now();
    await Promise.all(conns.map((c) => c.close(3000)));
    // Monotonic clock times, comparable between the client processes of one measurement.
    return { streams, bytes: bytes * streams, startedAt: Number(t0) / 1e9, endedAt: Number(t1) / 1e9 };
  },

  async rtt({ endpoint, count = 2000, warmup = 200, size = 32 }) {
    const payload = crypto.randomBytes(size);
    const conn = await open(endpoint);
    for (let i = 0; i < warmup; i++) await echoOnce(conn, payload);
    const samples = [];
    for (let i = 0; i < count; i++) {
      const t0 = now();
      await echoOnce(conn, payload);
      samples.push(micros(t0, now()));
    }
    await conn.close();
    return latencyStats(samples);
  },

  /**
   * Round trips to several endpoints at once, alternating between them in blocks of
   * `block` echoes (the order rotates every block), so every system sees the same
   * machine conditions. Returns per-endpoint statistics.
   */
  async rttInterleaved({ endpoints, count = 2000, warmup = 200, size = 32, block = 50 }) {
    const payload = crypto.randomBytes(size);
    const names = Object.keys(endpoints);
    const conns = {};
    const samples = {};
    for (const n of names) {
      conns[n] = await open(endpoints[n]);
      samples[n] = [];
      for (let i = 0; i < warmup; i++) await echoOnce(conns[n], payload);
    }
    for (let b = 0; b * block < count; b++) {
      for (let j = 0; j < names.length; j++) {
        const n = names[(b + j) % names.length];
        const conn = conns[n];
        for (let i = 0; i < block && samples[n].length < count; i++) {
          const t0 = now();
          await echoOnce(conn, payload);
          samples[n].push(micros(t0, now()));
        }
      }
    }
    for (const n of names) await conns[n].close();
    return { systems: Object.fromEntries(names.map((n) => [n, latencyStats(samples[n])])), block };
  },

  async rate({ endpoint, count = 2000, concurrency = 8, maxSeconds = 10, warmup = 100 }) {
    const payload = crypto.randomBytes(32);
    if (warmup) await connectBatch(endpoint, payload, warmup, concurrency, maxSeconds, null);
    const latencies = [];
    await mark('start');
    const r = await connectBatch(endpoint, payload, count, concurrency, maxSeconds, latencies);
    await mark('end');
    return { ...r, concurrency, perSec: r.done / r.seconds, ...latencyPercentiles(latencies) };
  },

  /**
   * The rate test against several endpoints at once: after each one's warm-up, blocks of
   * `block` connections go to one endpoint after the other (the order rotates every block),
   * each between a pair of waiting marks, so that every system sees the same machine
   * conditions and the harness can add up each one's CPU over its own blocks.
   */
  async rateInterleaved({ endpoints, count = 2000, concurrency = 8, maxSeconds = 10, warmup = 100, block = 500 }) {
    const payload = crypto.randomBytes(32);
    const names = Object.keys(endpoints);
    for (const n of names) {
      if (warmup) await connectBatch(endpoints[n], payload, warmup, concurrency, maxSeconds, null);
    }
    const acc = Object.fromEntries(
      names.map((n) => [n, { done: 0, errors: 0, lastError: null, seconds: 0, blocks: [], latencies: [] }]),
    );
    const stopped = new Set();
    const left = (n) => (stopped.has(n) ? 0 : count - acc[n].done - acc[n].errors);
    for (let b = 0; names.some((n) => left(n) > 0); b++) {
      for (let j = 0; j < names.length; j++) {
        const n = names[(b + j) % names.length];
        if (left(n) <= 0) continue;
        const a = acc[n];
        const want = Math.min(block, left(n));
        await mark(`start:${n}:${b}`, true, { system: n });
        const r = await connectBatch(endpoints[n], payload, want, concurrency, maxSeconds, a.latencies);
        await mark(`end:${n}:${b}`, true, { system: n });
        a.done += r.done;
        a.errors += r.errors;
        a.lastError = r.lastError ?? a.lastError;
        a.seconds += r.seconds;
        a.blocks.push(b);
        // A block cut short by the time limit, or one that completed nothing, ends this system.
        if (r.done + r.errors < want || r.done === 0) stopped.add(n);
      }
    }
    const systems = {};
    for (const n of names) {
      const { latencies, ...a } = acc[n];
      systems[n] = {
        ...a,
        concurrency,
        perSec: a.seconds > 0 ? a.done / a.seconds : 0,
        ...latencyPercentiles(latencies),
      };
    }
    return { systems, block };
  },

  async memory({ endpoint, steps = [1000, 5000], concurrency = 32, warmup = 20 }) {
    const payload = crypto.randomBytes(32);
    for (let i = 0; i < warmup; i++) {
      const conn = await open(endpoint);
      await echoOnce(conn, payload);
      await conn.close();
    }
    await mark('baseline', true);
    const conns = [];
    let errors = 0;
    let lastError = null;
    const reached = [];
    for (const step of steps) {
      let next = conns.length;
      const t0 = now();
      const worker = async () => {
        while (next < step && errors < 50) {
          next++;
          try {
            const conn = await open(endpoint, 20000);
            await echoOnce(conn, payload);
            conns.push(conn);
          } catch (err) {
            errors++;
            lastError = String(err?.message || err);
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const alive = conns.filter((c) => !c.error).length;
      reached.push({ step, open: alive, seconds: seconds(t0, now()) });
      await mark(`open-${step}`, true, { open: alive });
      if (errors >= 50) break;
    }
    // Close everything, `concurrency` at a time.
    let idx = 0;
    const closer = async () => {
      while (idx < conns.length) await conns[idx++].close(3000);
    };
    await Promise.all(Array.from({ length: concurrency }, closer));
    return { reached, errors, lastError };
  },
};

async function runJob(job) {
  const fn = jobs[job.kind];
  if (!fn) throw new Error(`unknown job kind ${job.kind}`);
  return fn(job);
}

if (process.send) {
  process.on('message', (msg) => {
    if (!msg || msg.type !== 'job') return;
    runJob(msg.job).then(
      (result) => process.send({ type: 'result', ok: true, result: { ...result, bufferutilLoaded } }),
      (err) => process.send({ type: 'result', ok: false, error: String(err?.stack || err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'hello', pid: process.pid });
} else if (process.argv[2]) {
  const result = await runJob(JSON.parse(process.argv[2]));
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  process.exit(0);
}
