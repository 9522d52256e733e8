// Bounded fuzzing of a live websockify: `npm run fuzz -- --seconds N [--seed S] [--concurrency C]
// [--json FILE]`. It starts the real command (bin/websockify.js, a child process) in front of an
// echo target on loopback and, until the time is up, sends it mutated handshakes (RFC 6455,
// Hixie-75/76, plain HTTP, the Flash policy request) and frame streams after good handshakes
// (valid frames byte-checked through the echo, mutated ones only survived), each connection ended
// by the client. Every 50 cases a fresh client must get a byte-exact echo; the server's RSS and
// open fds are sampled and bounded, and must come back to near their start once it is idle.
// Exits 1 on a crash (the server exited), a hang (a connection the server neither answered nor
// closed in time), a failed health echo or a leak; prints the figures (docs/reliability.md).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const BIN = fileURLToPath(new URL('../../bin/websockify.js', import.meta.url));
const MAX_MESSAGE = 1024 * 1024;
/** A connection the client has ended must be closed by the server within this. */
const HANG_MS = 15000;
const HEALTH_EVERY = 50;
/** RSS may grow by this much over its start; fds must come back to start + FD_SLACK when idle. */
const RSS_BOUND = 200 * 1024 * 1024;
const FD_SLACK = 4;

// ---- arguments ----

function parseArgs(argv) {
  const o = { seconds: 60, seed: randomBytes(4).readUInt32BE(0), concurrency: 8, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (name === '--seconds') o.seconds = Number(value());
    else if (name === '--seed') o.seed = Number(value());
    else if (name === '--concurrency') o.concurrency = Number(value());
    else if (name === '--json') o.json = value();
    else usage(`unknown option ${name}`);
  }
  if (!(o.seconds > 0)) usage('--seconds needs a positive number');
  if (!Number.isInteger(o.seed)) usage('--seed needs an integer');
  if (!(Number.isInteger(o.concurrency) && o.concurrency > 0)) usage('--concurrency needs a positive integer');
  return o;
}

function usage(message) {
  process.stderr.write(
    `fuzz: ${message}\nusage: npm run fuzz -- --seconds N [--seed S] [--concurrency C] [--json FILE]\n`,
  );
  process.exit(2);
}

// ---- a seeded generator (mulberry32), so a seed replays the same cases ----

function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return {
    int,
    chance: (p) => next() < p,
    pick: (list) => list[int(list.length)],
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))),
  };
}

// ---- the target and the server ----

function echoTarget() {
  return new Promise((resolve) => {
    const sockets = new Set();
    const server = net.createServer({ allowHalfOpen: true }, (c) => {
      sockets.add(c);
      c.on('error', () => {});
      c.on('close', () => sockets.delete(c));
      c.pipe(c);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () => new Promise((r) => (sockets.forEach((c) => c.destroy()), server.close(() => r()))),
      }),
    );
  });
}

function startServer(targetPort) {
  const child = spawn(
    process.execPath,
    [BIN, '--max-message-size', String(MAX_MESSAGE), '127.0.0.1:0', `127.0.0.1:${targetPort}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const port = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19)); // keep the tail only
      const m = /Listen on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before listening`)));
  });
  return { child, port, exited, stderr: () => stderr };
}

/** The server's RSS in bytes; undefined once it has exited (a zombie has no VmRSS line). */
function rssOf(pid) {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

const fdsOf = (pid) => readdirSync(`/proc/${pid}/fd`).length;

// ---- cases ----

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function upgradeLines(rng) {
  const lines = [
    'GET /websockify?token=x HTTP/1.1',
    'Host: 127.0.0.1:6080',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${KEY}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (rng.chance(0.5))
    lines.push(`Sec-WebSocket-Protocol: ${rng.pick(['binary', 'base64', 'base64, binary', 'chat'])}`);
  if (rng.chance(0.3)) lines.push('Origin: http://example.com');
  return lines;
}

const SEEDS = {
  rfc6455: (rng) => upgradeLines(rng),
  hixie75: () => ['GET / HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: WebSocket', 'Connection: Upgrade', 'Origin: http://x'],
  hixie76: () => [
    'GET / HTTP/1.1',
    'Host: 127.0.0.1',
    'Upgrade: WebSocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5',
    'Sec-WebSocket-Key2: 12998 5 Y3 1  .P00',
  ],
  plain: (rng) => [`${rng.pick(['GET', 'HEAD', 'POST', 'OPTIONS', 'BREW'])} /x HTTP/1.1`, 'Host: 127.0.0.1'],
};

/** Values that have broken parsers before: numeric casts, empties, huge, odd bytes. */
const NASTY = [
  '',
  ' ',
  '0xd',
  '13.0',
  '1.3e1',
  '+13',
  '-1',
  '8',
  '7',
  '*',
  '%00',
  '\t',
  'a'.repeat(9000),
  '[::1',
  '::1',
  '\u00ff',
  '13, 13',
];

function mutateLines(rng, lines) {
  const out = [...lines];
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const i = rng.int(out.length);
    switch (rng.int(8)) {
      case 0: // drop a line
        if (out.length > 1) out.splice(i, 1);
        break;
      case 1: // repeat a line
        out.splice(i, 0, out[i]);
        break;
      case 2: // replace a header value
        if (i > 0) out[i] = `${out[i].split(':')[0]}: ${rng.pick(NASTY)}`;
        break;
      case 3: // the request line's version, method or target
        out[0] = `${rng.pick(['GET', 'get', 'POST', 'CONNECT', 'PRI'])} ${rng.pick(['/', '*', 'x', '//a', '/%2e%2e/', 'http://h/'])} ${rng.pick(['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/11', ''])}`;
        break;
      case 4: // a header name changed
        out[i] = out[i].replace(
          /^[^:]*/,
          rng.pick(['Host', 'host ', 'X-A', 'Sec-WebSocket-Version', '', 'Content-Length']),
        );
        break;
      case 5: // whitespace and folding
        out[i] = rng.pick([` ${out[i]}`, `${out[i]} `, out[i].replace(': ', ':\t'), out[i].replace(': ', ':\r\n ')]);
        break;
      default: // a random extra header
        out.splice(
          1 + rng.int(out.length),
          0,
          `${rng.pick(['Host', 'Upgrade', 'Connection', 'Transfer-Encoding', 'X'])}: ${rng.pick(NASTY)}`,
        );
    }
  }
  return out;
}

function mutateBytes(rng, buf) {
  const b = Buffer.from(buf);
  const n = 1 + rng.int(3);
  let out = b;
  for (let k = 0; k < n; k++) {
    const i = rng.int(Math.max(1, out.length));
    switch (rng.int(4)) {
      case 0:
        if (out.length) out[i] ^= 1 << rng.int(8);
        break;
      case 1:
        out = Buffer.concat([out.subarray(0, i), rng.bytes(1 + rng.int(4)), out.subarray(i)]);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, i), out.subarray(i + 1 + rng.int(4))]);
        break;
      default:
        out = out.subarray(0, i);
    }
  }
  return out;
}

function frame(rng, opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const len = payload.length;
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else {
    const l = Buffer.alloc(8);
    l.writeBigUInt64BE(BigInt(len));
    head.push(m | 127, ...l);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = rng.bytes(4);
  const body = Buffer.from(payload.map((x, i) => x ^ key[i & 3]));
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** Valid frames (binary data, pings, fragmented messages) and the data bytes they carry. */
function validFrames(rng) {
  const frames = [];
  const data = [];
  const count = 1 + rng.int(6);
  for (let k = 0; k < count; k++) {
    const payload = rng.bytes(rng.pick([0, 1, 125, 126, 1000, 65535, 65536, 70000]));
    switch (rng.int(3)) {
      case 0: {
        const cut = rng.int(payload.length + 1);
        frames.push(frame(rng, 0x2, payload.subarray(0, cut), { fin: false }));
        if (rng.chance(0.5)) frames.push(frame(rng, 0x9, rng.bytes(rng.int(126))));
        frames.push(frame(rng, 0x0, payload.subarray(cut)));
        break;
      }
      case 1:
        frames.push(frame(rng, 0x9, rng.bytes(rng.int(126))));
      // falls through: a data frame after the ping
      default:
        frames.push(frame(rng, 0x2, payload));
    }
    data.push(payload);
  }
  return { frames, data: Buffer.concat(data) };
}

/** A frame that breaks a rule, or bytes that are not a frame. */
function badFrame(rng) {
  switch (rng.int(8)) {
    case 0:
      return frame(rng, rng.pick([0x3, 0x4, 0x7, 0xb, 0xf]), rng.bytes(rng.int(20)));
    case 1:
      return frame(rng, 0x2, rng.bytes(10), { rsv: 1 + rng.int(7) });
    case 2:
      return frame(rng, rng.pick([0x8, 0x9, 0xa]), rng.bytes(rng.pick([126, 200])));
    case 3:
      return frame(rng, 0x8, Buffer.concat([Buffer.from([rng.int(256), rng.int(256)]), rng.bytes(rng.int(20))]));
    case 4: {
      const b = Buffer.alloc(14);
      b[0] = 0x82;
      b[1] = 0xff;
      b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(`0x${rng.bytes(8).toString('hex')}`)), 2);
      return b;
    }
    case 5:
      return frame(rng, 0x2, rng.bytes(10), { mask: false });
    case 6:
      return frame(rng, 0x0, rng.bytes(10));
    default:
      return rng.bytes(1 + rng.int(64));
  }
}

/** Splits `buf` into 1-4 writes at random places. */
function chunks(rng, buf) {
  const cuts = Array.from({ length: rng.int(4) }, () => rng.int(buf.length + 1)).sort((x, y) => x - y);
  const out = [];
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    out.push(buf.subarray(at, c));
    at = c;
  }
  return out.filter((p) => p.length > 0);
}

/**
 * One connection: writes `writes`, ends its side, and collects what comes back until the server
 * closes. With `echo`, it first waits for that many echoed data bytes, then writes `last` and
 * ends (a close sent at once could overtake the echo on its way back from the target).
 */
function connection(port, writes, { hangMs = HANG_MS, echo = 0, last } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const got = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ hang: true, bytes: Buffer.concat(got) });
    }, hangMs);
    socket.on('error', () => {});
    let waiting;
    socket.on('data', (d) => {
      got.push(d);
      if (waiting && dataOf(Buffer.concat(got)).length >= echo) waiting();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ hang: false, bytes: Buffer.concat(got) });
    });
    socket.on('connect', async () => {
      for (const w of writes) {
        if (socket.destroyed) return;
        socket.write(w);
        await new Promise((r) => setImmediate(r));
      }
      // Wait for the echo unless it is back already (the hang timer bounds the wait).
      if (dataOf(Buffer.concat(got)).length < echo) await new Promise((r) => (waiting = r));
      if (last && !socket.destroyed) socket.write(last);
      socket.end();
    });
  });
}

function statusOf(bytes) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(bytes.subarray(0, 16).toString('latin1'));
  if (m) return m[1];
  if (bytes.length === 0) return 'closed';
  return bytes.subarray(0, 4).toString('latin1') === '<cro' ? 'policy' : 'other';
}

/** The server's frames after the 101 head: opcode and payload (servers do not mask). */
function serverFrames(bytes) {
  let p = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
  const frames = [];
  while (p.length >= 2) {
    let len = p[1] & 0x7f;
    let off = 2;
    if (len === 126) {
      if (p.length < 4) break;
      len = p.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (p.length < 10) break;
      len = Number(p.readBigUInt64BE(2));
      off = 10;
    }
    if (p.length < off + len) break;
    frames.push({ op: p[0] & 0x0f, payload: p.subarray(off, off + len) });
    p = p.subarray(off + len);
  }
  return frames;
}

/** The close code the server sent, 'empty', or 'none'. */
function closeCodeOf(bytes) {
  const close = serverFrames(bytes).find((f) => f.op === 0x8);
  if (!close) return 'none';
  return close.payload.length >= 2 ? String(close.payload.readUInt16BE(0)) : 'empty';
}

/** Payload bytes of the server's data frames. */
function dataOf(bytes) {
  return Buffer.concat(
    serverFrames(bytes)
      .filter((f) => f.op <= 0x2)
      .map((f) => f.payload),
  );
}

async function handshakeCase(rng, port) {
  const kind = rng.pick(['rfc6455', 'rfc6455', 'rfc6455', 'hixie75', 'hixie76', 'plain', 'policy']);
  let request;
  if (kind === 'policy') request = Buffer.from('<policy-file-request/>\0');
  else {
    const lines = mutateLines(rng, SEEDS[kind](rng));
    request = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
    if (kind === 'hixie76') request = Buffer.concat([request, Buffer.from('^n:ds[4U', 'latin1')]);
  }
  if (rng.chance(0.3)) request = mutateBytes(rng, request);
  const r = await connection(port, chunks(rng, request));
  return { kind: `handshake/${kind}`, hang: r.hang, outcome: statusOf(r.bytes) };
}

async function frameCase(rng, port) {
  const head = Buffer.from(
    upgradeLines(rng)
      .join('\r\n')
      .replace(/Sec-WebSocket-Protocol: .*/, 'Sec-WebSocket-Protocol: binary') + '\r\n\r\n',
  );
  const { frames, data } = validFrames(rng);
  const mutated = rng.chance(0.6);
  let stream = Buffer.concat(frames);
  if (mutated) {
    if (rng.chance(0.5)) stream = mutateBytes(rng, stream);
    else {
      const parts = [...frames];
      parts.splice(rng.int(parts.length + 1), 0, badFrame(rng));
      stream = Buffer.concat(parts);
    }
  }
  // A valid stream ends with a close frame once its echo is back.
  const valid = mutated ? {} : { echo: data.length, last: frame(rng, 0x8, Buffer.from([0x03, 0xe8])) };
  const r = await connection(port, [head, ...chunks(rng, stream)], valid);
  const status = statusOf(r.bytes);
  const result = { kind: mutated ? 'frames/mutated' : 'frames/valid', hang: r.hang, outcome: status };
  if (status !== '101') return result;
  result.outcome = `101/close ${closeCodeOf(r.bytes)}`;
  // A valid stream: every byte came back, in order, and the close was answered with 1000.
  if (!mutated && !dataOf(r.bytes).equals(data)) {
    result.wrong = `echo of ${data.length} bytes came back as ${dataOf(r.bytes).length}`;
  } else if (!mutated && closeCodeOf(r.bytes) !== '1000') {
    result.wrong = `close 1000 answered with ${closeCodeOf(r.bytes)}`;
  }
  return result;
}

/** A fresh ws client: 4 KiB out, exactly those bytes back within 5 s. */
function healthEcho(port) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'binary');
    const data = randomBytes(4096);
    const got = [];
    let n = 0;
    const timer = setTimeout(() => done(`no echo within 5 s (${n} bytes)`), 5000);
    const done = (err) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(err);
    };
    ws.on('error', (e) => done(`health client: ${e.message}`));
    ws.on('open', () => ws.send(data));
    ws.on('message', (m) => {
      got.push(m);
      n += m.length;
      if (n >= data.length) done(Buffer.concat(got).equals(data) ? undefined : 'echo differs');
    });
  });
}

// ---- the run ----

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const rng = generator(opts.seed);
  const target = await echoTarget();
  const server = startServer(target.port);
  const port = await server.port;
  const pid = server.child.pid;
  let crashed;
  void server.exited.then((e) => (crashed = e));

  // Baseline after one good session, so lazy loading is not counted as growth.
  const warm = await healthEcho(port);
  if (warm) throw new Error(`first echo failed: ${warm}`);
  const rssStart = rssOf(pid);
  const fdStart = fdsOf(pid);
  const figures = {
    seed: opts.seed,
    seconds: opts.seconds,
    concurrency: opts.concurrency,
    cases: 0,
    byKind: {},
    outcomes: {},
    healthChecks: 0,
    rssStartMiB: +(rssStart / 2 ** 20).toFixed(1),
    rssMaxMiB: 0,
    fdStart,
    fdMax: fdStart,
    failures: [],
  };
  let rssMax = rssStart;
  const fail = (what) => {
    if (figures.failures.length < 20) figures.failures.push(what);
  };

  const deadline = Date.now() + opts.seconds * 1000;
  let sinceHealth = 0;
  const worker = async () => {
    while (Date.now() < deadline && !crashed && figures.failures.length === 0) {
      const caseRng = generator(rng.int(2 ** 32));
      const n = ++figures.cases;
      const r = caseRng.chance(0.5) ? await handshakeCase(caseRng, port) : await frameCase(caseRng, port);
      figures.byKind[r.kind] = (figures.byKind[r.kind] ?? 0) + 1;
      const key = `${r.kind}: ${r.outcome}`;
      figures.outcomes[key] = (figures.outcomes[key] ?? 0) + 1;
      if (r.hang) fail(`case ${n} (${r.kind}) hung: not closed ${HANG_MS / 1000} s after the client ended`);
      if (r.wrong) fail(`case ${n} (${r.kind}): ${r.wrong}`);
      if (++sinceHealth >= HEALTH_EVERY && !crashed) {
        sinceHealth = 0;
        figures.healthChecks++;
        const err = await healthEcho(port);
        if (err) fail(`health echo after case ${n}: ${err}`);
        const rss = rssOf(pid);
        if (rss === undefined) break; // exited: reported below, with its stderr
        rssMax = Math.max(rssMax, rss);
        figures.fdMax = Math.max(figures.fdMax, fdsOf(pid));
        if (rss - rssStart > RSS_BOUND) fail(`RSS ${(rss / 2 ** 20).toFixed(1)} MiB after case ${n}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));

  // Idle again: fds must come back (bounded wait), and a last echo must work.
  // Gone but not yet reaped when the workers stopped: wait for its exit to report it.
  if (!crashed && rssOf(pid) === undefined) crashed = await server.exited;
  let fdEnd = crashed ? -1 : fdsOf(pid);
  for (let i = 0; i < 200 && !crashed && fdEnd > fdStart + FD_SLACK; i++) {
    await new Promise((r) => setTimeout(r, 50));
    fdEnd = fdsOf(pid);
  }
  if (crashed)
    fail(`the server exited (${crashed.code ?? crashed.signal}); stderr tail:\n${server.stderr().slice(-2000)}`);
  else {
    const err = await healthEcho(port);
    if (err) fail(`final health echo: ${err}`);
    if (fdEnd > fdStart + FD_SLACK) fail(`fds: ${fdStart} at start, ${fdEnd} when idle at the end`);
    figures.fdEnd = fdEnd;
    figures.rssEndMiB = +(rssOf(pid) / 2 ** 20).toFixed(1);
  }
  figures.rssMaxMiB = +(rssMax / 2 ** 20).toFixed(1);
  figures.casesPerSecond = Math.round(figures.cases / opts.seconds);

  server.child.kill('SIGTERM');
  await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5000))]);
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await target.close();

  const outcomes = Object.entries(figures.outcomes).sort(([a], [b]) => (a < b ? -1 : 1));
  process.stdout.write(
    [
      `fuzz: seed ${figures.seed}, ${opts.seconds} s, concurrency ${opts.concurrency}`,
      `cases: ${figures.cases} (${figures.casesPerSecond}/s), health echoes: ${figures.healthChecks}`,
      ...Object.entries(figures.byKind).map(([k, v]) => `  ${k}: ${v}`),
      'outcomes:',
      ...outcomes.map(([k, v]) => `  ${k}: ${v}`),
      `server RSS: ${figures.rssStartMiB} MiB at start, ${figures.rssMaxMiB} MiB max, ${figures.rssEndMiB ?? '-'} MiB at the end`,
      `server fds: ${figures.fdStart} at start, ${figures.fdMax} max sampled, ${figures.fdEnd ?? '-'} idle at the end`,
      figures.failures.length ? `FAILED:\n  ${figures.failures.join('\n  ')}` : 'no crash, no hang, no leak',
      '',
    ].join('\n'),
  );
  if (opts.json) writeFileSync(opts.json, JSON.stringify(figures, null, 2) + '\n');
  process.exit(figures.failures.length ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`fuzz: ${err.stack ?? err}\n`);
  process.exit(1);
});
