// websockify benchmark harness: `npm run bench` (or `node bench/run.js --help`).
//
// Runs each system under test as its own process on loopback, points it at a target
// process (bench/targets.js), drives it from a forked client process (bench/clients.js),
// interleaves the systems within every round, and reports medians.
import { execFileSync, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MiB, freePort, median, processTree, setClockTicks, sleep, treeCpu, treeMem, waitForPort } from './util.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const HOST = '127.0.0.1';
const ALL_SYSTEMS = ['raw', 'ours', 'python'];
const ALL_TESTS = ['throughput', 'rtt', 'rate', 'memory'];

const HELP = `Usage: node bench/run.js [options]

Benchmarks websockify implementations side by side on loopback.

Systems:  raw     plain TCP relay (bench/raw-relay.js), the ceiling
          ours    node bin/websockify (this package)
          python  the Python reference, /usr/bin/websockify, when installed
Tests:    throughput  bulk client->target and target->client, 64 KiB messages
          rtt         2,000 sequential 32-byte echoes, p50/p99
          rate        connect + upgrade + one echo + close, 8 in flight
          memory      proxy RSS/PSS with 1,000 and 5,000 idle connections

Options:
  --quick               1 round, smaller transfers (about 1-2 minutes)
  --rounds N            rounds to run (default 5, quick 1)
  --only LIST           systems, comma separated (default raw,ours,python)
  --tests LIST          tests, comma separated (default throughput,rtt,rate,memory)
  --ours-cmd CMD        command for "ours" (env BENCH_OURS_CMD). Listen and target
                        specs are appended, or substituted for {listen} and {target}.
  --python-cmd CMD      command for "python" (env BENCH_PYTHON_CMD)
  --bytes MIB           MiB per throughput direction (default 512, quick 256)
  --mem-steps LIST      idle connection counts (default 1000,5000)
  --python-mem-cap N    idle connections for python (default 200)
  --subprotocol NAME    offer this WebSocket subprotocol (default: none offered)
  --out DIR             results directory (default bench/results)
  --verbose             print proxy stderr and per-measurement details
  -h, --help            this text
`;

// ------------------------------------------------------------------ options

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    tests: { type: 'string' },
    'ours-cmd': { type: 'string' },
    'python-cmd': { type: 'string' },
    bytes: { type: 'string' },
    'mem-steps': { type: 'string' },
    'python-mem-cap': { type: 'string' },
    subprotocol: { type: 'string' },
    out: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function listOpt(value, allowed, name) {
  if (!value) return [...allowed];
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const it of items) {
    if (!allowed.includes(it)) {
      process.stderr.write(`unknown ${name} "${it}" (choose from ${allowed.join(', ')})\n`);
      process.exit(2);
    }
  }
  return allowed.filter((a) => items.includes(a));
}

const quick = opt.quick;
const config = {
  quick,
  rounds: Number(opt.rounds ?? (quick ? 1 : 5)),
  systems: listOpt(opt.only, ALL_SYSTEMS, 'system'),
  tests: listOpt(opt.tests, ALL_TESTS, 'test'),
  bytes: Number(opt.bytes ?? (quick ? 256 : 512)) * MiB,
  warmupBytes: (quick ? 16 : 32) * MiB,
  chunk: 64 * 1024,
  rtt: { count: 2000, warmup: 200, size: 32 },
  rate: { count: quick ? 1500 : 4000, concurrency: 8, maxSeconds: quick ? 3 : 6, warmup: 100 },
  memory: {
    steps: (opt['mem-steps'] ?? '1000,5000').split(',').map(Number),
    pythonCap: Number(opt['python-mem-cap'] ?? 200),
    concurrency: 32,
    settleMs: quick ? 600 : 1000,
  },
  subprotocols: opt.subprotocol ? [opt.subprotocol] : [],
  deadlineSec: quick ? 240 : 900,
};
const outDir = path.resolve(opt.out ?? path.join(BENCH_DIR, 'results'));
const verbose = opt.verbose;

// ------------------------------------------------------------------ process bookkeeping

const live = new Set(); // ChildProcess objects we started and have not reaped

function killTree(child, signal) {
  if (!child.pid) return;
  const pids = processTree(child.pid);
  if (child.detachedGroup) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // group already gone
    }
  }
  for (const pid of pids.reverse()) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function cleanupAllSync() {
  for (const child of live) killTree(child, 'SIGKILL');
  live.clear();
}

process.on('exit', cleanupAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping benchmark processes\n`);
    cleanupAllSync();
    process.exit(130);
  });
}

async function stopChild(child, graceMs = 3000) {
  if (!child || !live.has(child)) return;
  const exited = child.exitCode !== null || child.signalCode !== null;
  const done = exited ? Promise.resolve() : new Promise((r) => child.once('exit', r));
  const pids = processTree(child.pid);
  killTree(child, 'SIGTERM');
  const gone = await Promise.race([done.then(() => true), sleep(graceMs).then(() => false)]);
  if (!gone) killTree(child, 'SIGKILL');
  // Descendants (python's forked handlers) may outlive the parent briefly.
  for (let i = 0; i < 40; i++) {
    const alive = pids.filter((p) => fs.existsSync(`/proc/${p}`) && !isZombie(p));
    if (!alive.length) break;
    if (i === 20) for (const p of alive) safeKill(p, 'SIGKILL');
    await sleep(50);
  }
  live.delete(child);
}

function safeKill(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

function isZombie(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

// ------------------------------------------------------------------ machine

function sh(cmd, args, fallback = null) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10000 }).trim();
  } catch {
    return fallback;
  }
}

function pythonInterpreter(scriptPath) {
  try {
    const first = fs.readFileSync(scriptPath, 'utf8').split('\n', 1)[0];
    const m = first.match(/^#!\s*(\S+)(?:\s+(\S+))?/);
    if (!m || !/python/.test(first)) return null;
    return m[1].endsWith('/env') ? m[2] : m[1];
  } catch {
    return null;
  }
}

function detectPython() {
  const override = opt['python-cmd'] || process.env.BENCH_PYTHON_CMD;
  if (override) return { cmd: override, note: 'command given by --python-cmd/BENCH_PYTHON_CMD' };
  const bin = '/usr/bin/websockify';
  if (!fs.existsSync(bin)) return { cmd: null, note: 'not installed (apt-get install -y websockify)' };
  const interp = pythonInterpreter(bin);
  if (!interp) return { cmd: null, note: `${bin} is not a Python script` };
  const info = sh(interp, [
    '-c',
    [
      'import importlib.metadata as m, sys',
      'v = m.version("websockify")',
      'try:\n  import numpy; n = "numpy " + numpy.__version__',
      'except Exception:\n  n = "no numpy"',
      'print(v + " (Python " + sys.version.split()[0] + ", " + n + ")")',
    ].join('\n'),
  ]);
  const deb = sh('dpkg-query', ['-W', '-f=${Version}', 'websockify']);
  return {
    cmd: bin,
    version: info ? `websockify ${info}${deb ? `, Debian package ${deb}` : ''}` : 'unknown version',
  };
}

function machineInfo(pythonVersion) {
  let cpuModel = 'unknown';
  try {
    const m = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) cpuModel = m[1].trim();
  } catch {
    // not Linux
  }
  const ticks = Number(sh('getconf', ['CLK_TCK'], '100'));
  setClockTicks(ticks);
  return {
    cpuModel,
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    fdLimit: sh('sh', ['-c', 'ulimit -n']),
    python: pythonVersion ?? 'not installed',
    wsClient: readJson(path.join(ROOT, 'node_modules/ws/package.json'))?.version ?? 'unknown',
    gitCommit: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
  };
}

function readJson(p) {
  try {
    return JSON.parse(fs.readFileSync(p, 'utf8'));
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ targets

async function startTargets() {
  const child = fork(
    path.join(BENCH_DIR, 'targets.js'),
    ['--host', HOST, '--source-bytes', String(config.bytes), '--chunk', String(config.chunk)],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  live.add(child);
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('targets did not start')), 10000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`targets exited (${code})`)));
  });
  return { child, pid: child.pid, ports: ready.ports };
}

// ------------------------------------------------------------------ systems under test

function systemDefs() {
  const py = detectPython();
  const oursCmd = opt['ours-cmd'] || process.env.BENCH_OURS_CMD || `"${process.execPath}" bin/websockify`;
  return {
    raw: {
      name: 'raw',
      proto: 'tcp',
      cmd: `"${process.execPath}" bench/raw-relay.js`,
      note: 'plain TCP relay with pipe(); TCP clients',
    },
    ours: { name: 'ours', proto: 'ws', cmd: oursCmd, note: '' },
    python: {
      name: 'python',
      proto: 'ws',
      cmd: py.cmd,
      version: py.version,
      note: py.cmd ? '' : py.note,
    },
  };
}

function buildCommand(cmd, listen, target) {
  if (cmd.includes('{listen}') || cmd.includes('{target}')) {
    return cmd.replaceAll('{listen}', listen).replaceAll('{target}', target);
  }
  return `${cmd} ${listen} ${target}`;
}

/** Start a system; resolves once its listening port accepts TCP connections. */
async function startSystem(sys, targetPort) {
  let lastErr = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const lport = await freePort(HOST);
    const command = buildCommand(sys.cmd, `${HOST}:${lport}`, `${HOST}:${targetPort}`);
    // `exec env` keeps the PID of the real server process while allowing VAR=x prefixes.
    const child = spawn('/bin/sh', ['-c', `exec env ${command}`], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.detachedGroup = true;
    live.add(child);
    let tail = '';
    const keep = (d) => {
      tail = (tail + d.toString()).slice(-4000);
      if (verbose) process.stderr.write(`[${sys.name}] ${d}`);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (e) => keep(String(e)));
    const alive = () => child.exitCode === null && child.signalCode === null;
    const t0 = Date.now();
    const ok = await waitForPort(HOST, lport, 15000, alive);
    if (ok) {
      return { sys, child, pid: child.pid, port: lport, startMs: Date.now() - t0, tail: () => tail };
    }
    const died = !alive();
    await stopChild(child);
    lastErr = new Error(
      `${sys.name} did not start (${died ? `exited with ${child.exitCode ?? child.signalCode}` : 'port never opened'}): ` +
        `${command}\n${tail.trim().split('\n').slice(-8).join('\n')}`,
    );
    if (!/EADDRINUSE|address already in use/i.test(tail)) break;
  }
  throw lastErr;
}

// ------------------------------------------------------------------ client jobs

/**
 * Fork a client process, run one job, collect the marks it reports. `onMark` runs in
 * the harness for every mark (after the CPU snapshot) before a waiting client resumes.
 */
async function runClientJob(job, { proxyPid, targetsPid, timeoutMs, onMark }) {
  const child = fork(path.join(BENCH_DIR, 'clients.js'), [], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  const marks = [];
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`client job ${job.kind} timed out after ${timeoutMs / 1000}s`)),
        timeoutMs,
      );
      child.on('message', async (msg) => {
        if (!msg) return;
        if (msg.type === 'hello') child.send({ type: 'job', job });
        else if (msg.type === 'mark') {
          const snap = {
            name: msg.name,
            t: Number(process.hrtime.bigint()) / 1e9,
            cpu: {
              proxy: treeCpu(proxyPid),
              targets: treeCpu(targetsPid),
              client: treeCpu(child.pid),
            },
            info: msg,
          };
          marks.push(snap);
          if (onMark) {
            try {
              await onMark(snap);
            } catch (e) {
              snap.error = String(e);
            }
          }
          if (msg.wait && child.connected) child.send({ type: 'continue', name: msg.name });
        } else if (msg.type === 'result') {
          clearTimeout(timer);
          if (msg.ok) resolve({ result: msg.result, marks });
          else reject(new Error(msg.error));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`client exited (${code ?? signal}) during ${job.kind}`));
      });
    });
  } finally {
    if (child.connected) child.disconnect();
    await stopChild(child, 2000);
  }
}

function cpuBetween(marks, a, b) {
  const m0 = marks.find((m) => m.name === a);
  const m1 = marks.find((m) => m.name === b);
  if (!m0 || !m1 || m1.t <= m0.t) return null;
  const dt = m1.t - m0.t;
  const pct = (k) => Math.round(((m1.cpu[k] - m0.cpu[k]) / dt) * 1000) / 10;
  return { proxy: pct('proxy'), client: pct('client'), targets: pct('targets'), seconds: dt };
}

// ------------------------------------------------------------------ measurements

function endpoint(sys, inst) {
  return { proto: sys.proto, host: HOST, port: inst.port, subprotocols: config.subprotocols };
}

/** Each measurement: start a fresh instance of the system pointed at the right target. */
const MEASURE = {
  async up(sys, targets) {
    return withSystem(sys, targets.ports.sink, async (inst) => {
      const { result, marks } = await runClientJob(
        {
          kind: 'up',
          endpoint: endpoint(sys, inst),
          bytes: config.bytes,
          chunk: config.chunk,
          warmupBytes: config.warmupBytes,
        },
        { proxyPid: inst.pid, targetsPid: targets.pid, timeoutMs: 180000 },
      );
      return { metrics: { upMiBs: result.mibPerSec }, detail: { ...result, cpu: cpuBetween(marks, 'start', 'end') } };
    });
  },

  async down(sys, targets) {
    return withSystem(sys, targets.ports.source, async (inst) => {
      const { result, marks } = await runClientJob(
        { kind: 'down', endpoint: endpoint(sys, inst), bytes: config.bytes, warmupBytes: config.warmupBytes },
        { proxyPid: inst.pid, targetsPid: targets.pid, timeoutMs: 180000 },
      );
      return { metrics: { downMiBs: result.mibPerSec }, detail: { ...result, cpu: cpuBetween(marks, 'start', 'end') } };
    });
  },

  async rtt(sys, targets) {
    return withSystem(sys, targets.ports.echo, async (inst) => {
      const { result } = await runClientJob(
        { kind: 'rtt', endpoint: endpoint(sys, inst), ...config.rtt },
        { proxyPid: inst.pid, targetsPid: targets.pid, timeoutMs: 120000 },
      );
      return { metrics: { rttP50: result.p50, rttP99: result.p99 }, detail: result };
    });
  },

  async rate(sys, targets) {
    return withSystem(sys, targets.ports.echo, async (inst) => {
      const { result, marks } = await runClientJob(
        { kind: 'rate', endpoint: endpoint(sys, inst), ...config.rate },
        { proxyPid: inst.pid, targetsPid: targets.pid, timeoutMs: (config.rate.maxSeconds * 2 + 60) * 1000 },
      );
      if (!result.done) throw new Error(`no connection completed: ${result.lastError}`);
      return {
        metrics: { connPerSec: result.perSec },
        detail: { ...result, cpu: cpuBetween(marks, 'start', 'end') },
      };
    });
  },

  async memory(sys, targets) {
    const steps = sys.name === 'python' ? [config.memory.pythonCap] : config.memory.steps;
    return withSystem(sys, targets.ports.echo, async (inst) => {
      const mem = {};
      const onMark = async (snap) => {
        await sleep(config.memory.settleMs);
        mem[snap.name] = { ...treeMem(inst.pid), open: snap.info.open ?? 0 };
      };
      const { result } = await runClientJob(
        { kind: 'memory', endpoint: endpoint(sys, inst), steps, concurrency: config.memory.concurrency },
        { proxyPid: inst.pid, targetsPid: targets.pid, timeoutMs: 300000, onMark },
      );
      const base = mem.baseline;
      const metrics = { baseRssMB: base.rssKB / 1024 };
      const detail = { baseline: base, steps: [], result };
      for (const step of steps) {
        const m = mem[`open-${step}`];
        if (!m || !m.open) continue;
        const rssPer = (m.rssKB - base.rssKB) / m.open;
        const pssPer = m.pssKB != null && base.pssKB != null ? (m.pssKB - base.pssKB) / m.open : null;
        detail.steps.push({ step, ...m, rssPerConnKB: rssPer, pssPerConnKB: pssPer });
        if (m.open < step * 0.99) detail.incomplete = `only ${m.open} of ${step} connections opened`;
        // Python is measured at its cap; its numbers go in the first step's row.
        const key = sys.name === 'python' ? config.memory.steps[0] : step;
        metrics[`rss${key}`] = rssPer;
        metrics[`pss${key}`] = pssPer;
        if (sys.name === 'python') metrics.pythonConns = m.open;
      }
      return { metrics, detail };
    });
  },
};

async function withSystem(sys, targetPort, fn) {
  const inst = await startSystem(sys, targetPort);
  try {
    return await fn(inst);
  } catch (e) {
    const tail = inst.tail().trim().split('\n').slice(-5).join('\n');
    throw new Error(`${e.message}${tail ? `\n  ${sys.name} stderr tail:\n  ${tail}` : ''}`);
  } finally {
    await stopChild(inst.child);
  }
}

const TEST_PARTS = { throughput: ['up', 'down'], rtt: ['rtt'], rate: ['rate'], memory: ['memory'] };

// ------------------------------------------------------------------ report

const ROWS = [
  { key: 'upMiBs', label: 'Throughput client->target (MiB/s)', digits: 0, better: 'higher', test: 'throughput' },
  { key: 'downMiBs', label: 'Throughput target->client (MiB/s)', digits: 0, better: 'higher', test: 'throughput' },
  { key: 'rttP50', label: 'Round trip p50 (us)', digits: 1, better: 'lower', test: 'rtt' },
  { key: 'rttP99', label: 'Round trip p99 (us)', digits: 1, better: 'lower', test: 'rtt' },
  { key: 'connPerSec', label: 'Connections/s (8 in flight)', digits: 0, better: 'higher', test: 'rate' },
  { key: 'baseRssMB', label: 'Idle proxy RSS before (MB)', digits: 1, better: 'lower', test: 'memory' },
];

function memoryRows() {
  const rows = [];
  config.memory.steps.forEach((step, i) => {
    for (const kind of ['rss', 'pss']) {
      rows.push({
        key: `${kind}${step}`,
        label: `${kind.toUpperCase()} per idle conn @${step} (KB)`,
        digits: 1,
        better: 'lower',
        test: 'memory',
        pythonFootnote: i === 0,
      });
    }
  });
  return rows;
}

const TARGETS = {
  upMiBs: { text: '>= 0.85x raw', check: (o, r) => (r != null ? o >= 0.85 * r : null) },
  downMiBs: { text: '>= 0.85x raw', check: (o, r) => (r != null ? o >= 0.85 * r : null) },
  rttP50: { text: '<= raw + 20 us', check: (o, r) => (r != null ? o - r <= 20 : null) },
  connPerSec: { text: '>= 1500/s', check: (o) => o >= 1500 },
  rss1000: { text: '< 20 KB', check: (o) => o < 20 },
  rss5000: { text: '< 20 KB', check: (o) => o < 20 },
};

function fmt(v, digits) {
  if (v == null || !Number.isFinite(v)) return '-';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Median of per-round ratios a/b (pairs measured in the same round, close in time). */
function pairedRatio(samples, a, b, key) {
  const xs = samples[a]?.[key] ?? [];
  const ys = samples[b]?.[key] ?? [];
  const ratios = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    if (xs[i] != null && ys[i] != null && ys[i] !== 0) ratios.push(xs[i] / ys[i]);
  }
  return median(ratios);
}

function buildReport(state) {
  const { samples, systems } = state;
  const shown = config.systems;
  const rows = [...ROWS, ...memoryRows()].filter((r) => config.tests.includes(r.test));
  const medians = {};
  for (const s of shown) {
    medians[s] = {};
    for (const r of rows) medians[s][r.key] = median(samples[s]?.[r.key] ?? []);
  }
  const table = [];
  const header = ['Metric', ...shown];
  const ratioCols = [];
  if (shown.includes('raw')) {
    for (const s of shown) if (s !== 'raw') ratioCols.push(s);
  }
  for (const s of ratioCols) header.push(`${s}/raw`);
  const showTargets = shown.includes('ours');
  if (showTargets) header.push('Target (ours)', 'Met');
  const evaluation = {};
  for (const r of rows) {
    const line = [r.label];
    for (const s of shown) {
      const st = systems[s];
      if (st.skipped) line.push('skipped');
      else {
        let cell = fmt(medians[s][r.key], r.digits);
        if (s === 'python' && r.test === 'memory' && cell !== '-') cell += '*';
        if (s === 'python' && r.test === 'memory' && r.key.match(/\d+$/) && !r.pythonFootnote) cell = '-';
        line.push(cell);
      }
    }
    for (const s of ratioCols) {
      const ratio = pairedRatio(samples, s, 'raw', r.key);
      const skipPy = s === 'python' && r.test === 'memory' && !r.pythonFootnote;
      line.push(ratio == null || skipPy ? '-' : `${fmt(ratio, 2)}x`);
    }
    if (showTargets) {
      const t = TARGETS[r.key];
      if (!t) line.push('', '');
      else {
        const o = medians.ours?.[r.key];
        const raw = medians.raw?.[r.key];
        const ok = o == null ? null : t.check(o, raw);
        evaluation[r.key] = { target: t.text, ours: o, raw, met: ok };
        let met = ok == null ? 'n/a' : ok ? 'yes' : 'NO';
        if (r.key === 'rttP50' && o != null && raw != null) met += ` (${o - raw >= 0 ? '+' : ''}${fmt(o - raw, 1)} us)`;
        line.push(t.text, met);
      }
    }
    table.push(line);
  }
  // CPU use during throughput, from /proc: shows whether the client was the bottleneck.
  if (config.tests.includes('throughput')) {
    for (const dir of ['up', 'down']) {
      for (const who of ['proxy', 'client', 'targets']) {
        const line = [`CPU % ${who} (${dir === 'up' ? 'client->target' : 'target->client'})`];
        for (const s of shown) {
          const vals = state.details
            .filter((d) => d.system === s && d.part === dir && d.detail?.cpu)
            .map((d) => d.detail.cpu[who]);
          line.push(systems[s].skipped ? 'skipped' : fmt(median(vals), 0));
        }
        for (let i = 0; i < ratioCols.length; i++) line.push('');
        if (showTargets) line.push('', '');
        table.push(line);
      }
    }
  }
  return { header, table, medians, evaluation };
}

function textTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable(header, rows) {
  const esc = (c) => String(c).replaceAll('|', '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function notesFor(state) {
  const notes = [];
  for (const s of config.systems) {
    const st = state.systems[s];
    if (st.skipped) notes.push(`${s}: skipped - ${st.reason}`);
  }
  if (config.systems.includes('python') && !state.systems.python.skipped && config.tests.includes('memory')) {
    const n = median(state.samples.python?.pythonConns ?? []) ?? config.memory.pythonCap;
    notes.push(
      `* python forks one process per connection: memory measured with ${n} connections (not ${config.memory.steps.join('/')}) ` +
        'and summed over the parent and all its children; RSS counts shared pages once per process, PSS shares them out.',
    );
  }
  notes.push(
    'Ratios are medians of per-round ratios (systems measured back to back within a round). ' +
      'raw clients speak plain TCP, the others WebSocket (binary frames, no compression).',
  );
  for (const f of state.failures)
    notes.push(`failure: round ${f.round} ${f.system} ${f.part}: ${f.error.split('\n')[0]}`);
  return notes;
}

function machineLines(m) {
  return [
    `CPU: ${m.cpuModel}, ${m.cores} cores; memory ${m.memoryGiB} GiB; fd limit ${m.fdLimit}`,
    `Kernel: ${m.kernel}; Node ${m.node}; ws client ${m.wsClient}; git ${m.gitCommit ?? '?'}`,
    `Python reference: ${m.python}`,
  ];
}

// ------------------------------------------------------------------ main

async function main() {
  const started = new Date();
  const tStart = Date.now();
  const defs = systemDefs();
  const machine = machineInfo(defs.python.version);
  const say = (s) => process.stderr.write(`${s}\n`);
  say(
    `websockify bench: systems ${config.systems.join(',')}; tests ${config.tests.join(',')}; ${config.rounds} round(s)`,
  );
  for (const l of machineLines(machine)) say(`  ${l}`);

  const targets = await startTargets();
  say(`  targets: echo ${targets.ports.echo}, sink ${targets.ports.sink}, source ${targets.ports.source}`);

  const state = { systems: {}, samples: {}, details: [], failures: [] };
  for (const s of config.systems) {
    const sys = defs[s];
    state.systems[s] = { cmd: sys.cmd, note: sys.note, version: sys.version };
    state.samples[s] = {};
    if (!sys.cmd) {
      state.systems[s].skipped = true;
      state.systems[s].reason = sys.note;
      say(`  ${s}: skipped (${sys.note})`);
      continue;
    }
    try {
      await withSystem(sys, targets.ports.echo, (inst) =>
        runClientJob(
          { kind: 'probe', endpoint: endpoint(sys, inst) },
          { proxyPid: inst.pid, targetsPid: targets.pid, timeoutMs: 20000 },
        ),
      );
      say(`  ${s}: ok (${sys.cmd})`);
    } catch (e) {
      state.systems[s].skipped = true;
      state.systems[s].reason = `failed to start or echo: ${e.message.split('\n').slice(0, 4).join(' | ')}`;
      say(`  ${s}: SKIPPED - ${e.message}`);
    }
  }

  const active = config.systems.filter((s) => !state.systems[s].skipped);
  let roundsDone = 0;
  for (let round = 0; round < config.rounds; round++) {
    if (round > 0 && (Date.now() - tStart) / 1000 > config.deadlineSec) {
      say(`time budget of ${config.deadlineSec}s used up: stopping after ${round} round(s)`);
      break;
    }
    // Rotate the order every round so no system always runs first.
    const order = active.map((_, i) => active[(i + round) % active.length]);
    for (const test of config.tests) {
      for (const part of TEST_PARTS[test]) {
        for (const s of order) {
          const t0 = Date.now();
          try {
            const { metrics, detail } = await MEASURE[part](defs[s], targets);
            for (const [k, v] of Object.entries(metrics)) {
              (state.samples[s][k] ??= [])[round] = v;
            }
            state.details.push({ round, system: s, part, metrics, detail });
            const summary = Object.entries(metrics)
              .map(([k, v]) => `${k}=${v == null ? '-' : Math.round(v * 10) / 10}`)
              .join(' ');
            say(
              `[round ${round + 1}/${config.rounds}] ${part.padEnd(6)} ${s.padEnd(6)} ${summary}  (${((Date.now() - t0) / 1000).toFixed(1)}s)`,
            );
            if (verbose) say(JSON.stringify(detail));
          } catch (e) {
            state.failures.push({ round, system: s, part, error: e.message });
            say(`[round ${round + 1}/${config.rounds}] ${part.padEnd(6)} ${s.padEnd(6)} FAILED: ${e.message}`);
          }
        }
      }
    }
    roundsDone++;
  }

  await stopChild(targets.child);

  const report = buildReport(state);
  const notes = notesFor(state);
  const durationSec = Math.round((Date.now() - tStart) / 100) / 10;
  const text = [
    '',
    `Results: medians of ${roundsDone} round(s)${config.quick ? ' (--quick)' : ''}, ${durationSec}s total`,
    ...machineLines(machine),
    '',
    textTable(report.header, report.table),
    '',
    ...notes,
  ].join('\n');
  process.stdout.write(`${text}\n`);

  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const json = {
    startedAt: started.toISOString(),
    durationSec,
    roundsDone,
    config,
    machine,
    systems: state.systems,
    table: { header: report.header, rows: report.table },
    medians: report.medians,
    ratiosToRaw: Object.fromEntries(
      config.systems
        .filter((s) => s !== 'raw')
        .map((s) => [
          s,
          Object.fromEntries(
            Object.keys(report.medians[s] ?? {}).map((k) => [k, pairedRatio(state.samples, s, 'raw', k)]),
          ),
        ]),
    ),
    targets: report.evaluation,
    samples: state.samples,
    notes,
    failures: state.failures,
    details: state.details,
  };
  fs.mkdirSync(outDir, { recursive: true });
  const body = `${JSON.stringify(json, null, 2)}\n`;
  fs.writeFileSync(path.join(outDir, `${stamp}.json`), body);
  fs.writeFileSync(path.join(outDir, 'latest.json'), body);
  const md = [
    `Run ${started.toISOString()}, ${roundsDone} round(s)${config.quick ? ' (--quick)' : ''}, ${durationSec}s`,
    '',
    ...machineLines(machine).map((l) => `- ${l}`),
    '',
    markdownTable(report.header, report.table),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'latest.md'), md);
  say(`\nwrote ${path.relative(ROOT, path.join(outDir, `${stamp}.json`))}, latest.json and latest.md`);
}

main().then(
  () => {
    cleanupAllSync();
    process.exit(0);
  },
  (e) => {
    process.stderr.write(`bench failed: ${e.stack || e}\n`);
    cleanupAllSync();
    process.exit(1);
  },
);
