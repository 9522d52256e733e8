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
import {
  MiB,
  freePort,
  machineCpu,
  median,
  processTree,
  setClockTicks,
  sleep,
  treeCpu,
  treeFaults,
  treeMem,
  waitForPort,
} from './util.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const HOST = '127.0.0.1';
const ALL_SYSTEMS = ['raw', 'relay', 'socat', 'ours', 'ours2', 'before', 'lighttpd', 'python'];
/** Systems that fork a process per connection: idle memory is measured at --python-mem-cap. */
const FORKING = new Set(['python', 'socat']);
const ALL_TESTS = ['throughput', 'syscalls', 'aggregate', 'rtt', 'rate', 'memory'];

const HELP = `Usage: node bench/run.js [options]

Benchmarks websockify implementations side by side on loopback.

Systems:  raw       plain TCP relay with pipe() (bench/raw-relay.js), a reference
          relay     TCP relay reading into reused 1 MiB buffers (bench/onread-relay.js)
          socat     socat TCP relay (fork per connection), when installed
          ours      bin/websockify (this package)
          ours2     the same with --workers 2 (a primary and two worker processes)
          before    another build of websockify (--before-cmd / BENCH_BEFORE_CMD), when given
          lighttpd  lighttpd's mod_wstunnel (C WebSocket tunnel), when installed
          python    the Python reference, /usr/bin/websockify, when installed
Tests:    throughput  bulk client->target and target->client, 64 KiB messages
          syscalls    one transfer each way under perf stat (syscalls per MiB)
          aggregate   8 and 64 concurrent streams each way, from 2 client processes:
                      aggregate MiB/s and proxy CPU s/GiB (whole process tree)
          rtt         2,000 sequential 32-byte echoes, p50/p99
          rate        connect + upgrade + one echo + close, 8 in flight (--rate-concurrency)
          memory      proxy RSS/PSS with 1,000 and 5,000 idle connections

Options:
  --quick               1 round, smaller transfers (about 1-2 minutes)
  --rounds N            rounds to run (default 5, quick 1)
  --budget SEC          no new round starts after SEC seconds (default 480, quick 240)
  --only LIST           systems, comma separated (default raw,ours,python)
  --tests LIST          tests, comma separated (default throughput,rtt,rate,memory)
  --ours-cmd CMD        command for "ours" (env BENCH_OURS_CMD). Listen and target
                        specs are appended, or substituted for {listen} and {target}.
  --python-cmd CMD      command for "python" (env BENCH_PYTHON_CMD)
  --before-cmd CMD      command for "before", e.g. another checkout's bin/websockify
                        (env BENCH_BEFORE_CMD); skipped when not given
  --bytes MIB           MiB per throughput direction (default 512, quick 256)
  --mem-steps LIST      idle connection counts (default 1000,5000)
  --agg-streams LIST    concurrent streams of the aggregate test (default 8,64)
  --agg-bytes MIB       MiB per aggregate measurement, split over the streams
                        (default 512, quick 128)
  --python-mem-cap N    idle connections for python and socat (default 200)
  --subprotocol NAME    offer this WebSocket subprotocol (default: none offered)
  --load-client KIND    the client of the throughput and syscalls tests: lean (default,
                        bench/lean-client.js) or ws (the ws library's)
  --rate-warmup N       connections made before the rate test measures (default 100)
  --rate-concurrency N  connections in flight in the rate test (default 8)
  --out DIR             results directory (default bench/results)
  --chart FILE          also write the CPU-per-GiB chart (SVG) to FILE
  --verbose             print proxy stderr and per-measurement details
  -h, --help            this text
`;

// ------------------------------------------------------------------ options

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    budget: { type: 'string' },
    only: { type: 'string' },
    tests: { type: 'string' },
    'ours-cmd': { type: 'string' },
    'python-cmd': { type: 'string' },
    'before-cmd': { type: 'string' },
    chart: { type: 'string' },
    bytes: { type: 'string' },
    'mem-steps': { type: 'string' },
    'agg-streams': { type: 'string' },
    'agg-bytes': { type: 'string' },
    'python-mem-cap': { type: 'string' },
    subprotocol: { type: 'string' },
    'load-client': { type: 'string' },
    'rate-warmup': { type: 'string' },
    'rate-concurrency': { type: 'string' },
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
for (const name of ['rounds', 'budget']) {
  if (opt[name] !== undefined && !(Number(opt[name]) > 0)) {
    process.stderr.write(`--${name} must be a positive number, got "${opt[name]}"\n`);
    process.exit(2);
  }
}
for (const [name, least] of [
  ['rate-warmup', 0],
  ['rate-concurrency', 1],
]) {
  const n = Number(opt[name]);
  if (opt[name] !== undefined && !(Number.isInteger(n) && n >= least)) {
    process.stderr.write(`--${name} must be a whole number >= ${least}, got "${opt[name]}"\n`);
    process.exit(2);
  }
}
if (opt['load-client'] !== undefined && !['lean', 'ws'].includes(opt['load-client'])) {
  process.stderr.write(`--load-client must be lean or ws, got "${opt['load-client']}"\n`);
  process.exit(2);
}
const config = {
  quick,
  loadClient: opt['load-client'] ?? 'lean',
  rounds: Number(opt.rounds ?? (quick ? 1 : 5)),
  systems: listOpt(opt.only, ALL_SYSTEMS, 'system'),
  tests: listOpt(opt.tests, ALL_TESTS, 'test'),
  bytes: Number(opt.bytes ?? (quick ? 256 : 512)) * MiB,
  warmupBytes: (quick ? 16 : 32) * MiB,
  throughputReps: quick ? 1 : 3,
  chunk: 64 * 1024,
  rtt: { count: 2000, warmup: 200, size: 32, block: 50 },
  rate: {
    count: quick ? 1500 : 4000,
    concurrency: Number(opt['rate-concurrency'] ?? 8),
    maxSeconds: quick ? 3 : 6,
    warmup: Number(opt['rate-warmup'] ?? 100),
    // Connections per block when several systems are measured together (interleaved).
    block: 500,
  },
  memory: {
    steps: (opt['mem-steps'] ?? '1000,5000').split(',').map(Number),
    pythonCap: Number(opt['python-mem-cap'] ?? 200),
    concurrency: 32,
    settleMs: quick ? 600 : 1000,
  },
  aggregate: {
    streams: (opt['agg-streams'] ?? '8,64').split(',').map(Number),
    bytes: Number(opt['agg-bytes'] ?? (quick ? 128 : 512)) * MiB,
    // Client processes sharing the streams, so that one client's event loop is not the limit.
    clients: 2,
  },
  subprotocols: opt.subprotocol ? [opt.subprotocol] : [],
  deadlineSec: Number(opt.budget ?? (quick ? 240 : 480)),
  // Before each measurement wait up to this long for machine CPU use (percent, 100 =
  // one core) to fall below the threshold.
  quietWaitMs: quick ? 3000 : 5000,
  quietThreshold: 30,
};
const outDir = path.resolve(opt.out ?? path.join(BENCH_DIR, 'results'));
const verbose = opt.verbose;

// ------------------------------------------------------------------ process bookkeeping

const live = new Set(); // ChildProcess objects we started and have not reaped
const quietLog = []; // how long each measurement waited for an idle machine
const machineCores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;

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
  if (override) return { cmd: override, note: '', version: `custom command: ${override}` };
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
  const oursCmd = opt['ours-cmd'] || process.env.BENCH_OURS_CMD || defaultOursCmd();
  const beforeCmd = opt['before-cmd'] || process.env.BENCH_BEFORE_CMD || null;
  const socat = sh('sh', ['-c', 'command -v socat']);
  const lighttpd = sh('sh', ['-c', 'command -v lighttpd']);
  return {
    raw: {
      name: 'raw',
      proto: 'tcp',
      cmd: `"${process.execPath}" bench/raw-relay.js`,
      note: 'plain TCP relay with pipe(); TCP clients',
    },
    relay: {
      name: 'relay',
      proto: 'tcp',
      cmd: `"${process.execPath}" bench/onread-relay.js`,
      note: 'TCP relay, reused 1 MiB onread buffers; TCP clients',
    },
    socat: {
      name: 'socat',
      proto: 'tcp',
      cmd: socat
        ? `${socat} -b 65536 TCP-LISTEN:{lport},bind={lhost},reuseaddr,fork,backlog=1024 TCP:{thost}:{tport}`
        : null,
      version: sh('sh', ['-c', 'socat -V | grep "socat version"']),
      note: socat ? 'TCP clients' : 'not installed (apt-get install -y socat)',
    },
    ours: { name: 'ours', proto: 'ws', cmd: oursCmd, note: '' },
    ours2: { name: 'ours2', proto: 'ws', cmd: `${oursCmd} --workers 2`, note: 'ours with --workers 2' },
    before: {
      name: 'before',
      proto: 'ws',
      cmd: beforeCmd,
      note: beforeCmd ? '' : 'no --before-cmd / BENCH_BEFORE_CMD given',
    },
    lighttpd: {
      name: 'lighttpd',
      proto: 'ws',
      // mod_wstunnel answers with a subprotocol even when none is offered: offer binary.
      subprotocols: ['binary'],
      cmd: lighttpd ? `${lighttpd} -D -f {conf}` : null,
      prepare: lighttpdConfig,
      version: sh('sh', ['-c', 'lighttpd -v | head -1']),
      note: lighttpd ? 'mod_wstunnel, frame-type binary' : 'not installed (apt-get install -y lighttpd)',
    },
    python: {
      name: 'python',
      proto: 'ws',
      cmd: py.cmd,
      version: py.version,
      note: py.cmd ? '' : py.note,
    },
  };
}

/** Writes a lighttpd configuration for one instance into a fresh temporary directory. */
function lighttpdConfig(lhost, lport, thost, tport) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-lighttpd-'));
  const conf = path.join(dir, 'lighttpd.conf');
  fs.writeFileSync(
    conf,
    [
      'server.modules = ( "mod_wstunnel" )',
      `server.document-root = "${dir}"`,
      `server.bind = "${lhost}"`,
      `server.port = ${lport}`,
      `server.errorlog = "${dir}/error.log"`,
      'server.max-fds = 16384',
      'server.max-connections = 8192',
      `wstunnel.server = ( "" => (( "host" => "${thost}", "port" => ${tport} )) )`,
      'wstunnel.frame-type = "binary"',
      '',
    ].join('\n'),
  );
  return { vars: { conf }, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * bin/websockify may be a Node script or a launcher (sh) that execs node: run it
 * directly when it is executable and not a Node script, with NODE pointing at this
 * node; otherwise as `node bin/websockify`.
 */
function defaultOursCmd() {
  const bin = path.join(ROOT, 'bin/websockify');
  let first = '';
  try {
    first = fs.readFileSync(bin, 'utf8').split('\n', 1)[0];
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    return `"${process.execPath}" bin/websockify`;
  }
  if (/node/.test(first) || !first.startsWith('#!')) return `"${process.execPath}" bin/websockify`;
  return `NODE="${process.execPath}" bin/websockify`;
}

function buildCommand(cmd, vars) {
  if (/\{(listen|target|lhost|lport|thost|tport|conf)\}/.test(cmd)) {
    return cmd.replace(/\{(\w+)\}/g, (m, k) => vars[k] ?? m);
  }
  return `${cmd} ${vars.listen} ${vars.target}`;
}

/** Start a system; resolves once its listening port accepts TCP connections. */
async function startSystem(sys, targetPort) {
  let lastErr = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const lport = await freePort(HOST);
    const prepared = sys.prepare?.(HOST, lport, HOST, targetPort);
    const vars = {
      listen: `${HOST}:${lport}`,
      target: `${HOST}:${targetPort}`,
      lhost: HOST,
      lport,
      thost: HOST,
      tport: targetPort,
      ...prepared?.vars,
    };
    const command = buildCommand(sys.cmd, vars);
    // `exec env` keeps the PID of the real server process while allowing VAR=x prefixes.
    const child = spawn('/bin/sh', ['-c', `exec env ${command}`], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.detachedGroup = true;
    if (prepared) child.once('exit', prepared.cleanup);
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
        `${command}\n${tail.trim().split('\n').slice(-12).join('\n')}`,
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
async function runClientJob(job, { proxyPid, proxyPids = {}, targetsPid, timeoutMs, onMark }) {
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
              proxy: treeCpu(proxyPids[msg.system] ?? proxyPid),
              targets: treeCpu(targetsPid),
              client: treeCpu(child.pid),
            },
            faults: treeFaults(proxyPids[msg.system] ?? proxyPid),
            machine: machineCpu(),
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
  const out = {
    proxy: pct('proxy'),
    client: pct('client'),
    targets: pct('targets'),
    seconds: dt,
    proxyCpuSeconds: m1.cpu.proxy - m0.cpu.proxy,
    clientCpuSeconds: m1.cpu.client - m0.cpu.client,
    // Whole machine, 200% = both cores busy; what our three processes do not explain
    // was used by something else (the kernel's share of loopback traffic, neighbours).
    machine: m0.machine && m1.machine ? Math.round(((m1.machine.busy - m0.machine.busy) / dt) * 1000) / 10 : null,
  };
  out.other = out.machine == null ? null : Math.round((out.machine - out.proxy - out.client - out.targets) * 10) / 10;
  return out;
}

// ------------------------------------------------------------------ measurements

function endpoint(sys, inst) {
  return { proto: sys.proto, host: HOST, port: inst.port, subprotocols: sys.subprotocols ?? config.subprotocols };
}

/** The endpoint for a bulk transfer: the same, with the client that moves the bytes. */
function bulkEndpoint(sys, inst) {
  return { ...endpoint(sys, inst), client: config.loadClient };
}

/** Page faults of the proxy between two marks, per MiB moved. */
function faultsPerMiB(marks, a, b, bytes) {
  const m0 = marks.find((m) => m.name === a);
  const m1 = marks.find((m) => m.name === b);
  if (!m0?.faults || !m1?.faults) return { minor: null, major: null };
  const mib = bytes / MiB;
  return { minor: (m1.faults.minor - m0.faults.minor) / mib, major: (m1.faults.major - m0.faults.major) / mib };
}

/**
 * Syscalls of the proxy (its process tree, including children forked later) during one
 * transfer without warm-up, counted by `perf stat -e raw_syscalls:sys_enter` attached from
 * before the client connects until the transfer ended: the handshake's few syscalls are
 * included, and are negligible against the bytes moved.
 */
async function syscallsPerMiB(sys, targets, direction) {
  const bytes = Math.max(128 * MiB, config.bytes / 2);
  return withSystem(sys, direction === 'up' ? targets.ports.sink : targets.ports.source, async (inst) => {
    let perfOut = '';
    const perf = spawn('perf', ['stat', '-x', ',', '-e', 'raw_syscalls:sys_enter', '-p', String(inst.pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    live.add(perf);
    perf.stderr.on('data', (d) => (perfOut += d));
    const perfExit = new Promise((r) => perf.once('exit', r));
    await sleep(700); // perf attaches
    let result;
    try {
      ({ result } = await runClientJob(
        { kind: direction, endpoint: bulkEndpoint(sys, inst), bytes, chunk: config.chunk },
        { proxyPid: inst.pid, targetsPid: targets.pid, timeoutMs: 180000 },
      ));
    } finally {
      perf.kill('SIGINT');
      await Promise.race([perfExit, sleep(5000)]);
      live.delete(perf);
    }
    const line = perfOut.split('\n').find((l) => l.includes('raw_syscalls:sys_enter'));
    const count = line ? Number(line.split(',')[0]) : NaN;
    if (!Number.isFinite(count)) throw new Error(`perf stat gave no count: ${perfOut.trim().slice(0, 200)}`);
    return {
      metrics: { [`${direction}SysPerMiB`]: count / (result.bytes / MiB) },
      detail: { count, bytes: result.bytes },
    };
  });
}

/** Rejects after `ms` unless `promise` settled first. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000}s`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

/** A forked client running one aggregate job: `ready` once its streams are open, then go(). */
function aggregateClient(job) {
  const child = fork(path.join(BENCH_DIR, 'clients.js'), [], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  const settle = {};
  const ready = new Promise((resolve, reject) => (settle.ready = { resolve, reject }));
  const result = new Promise((resolve, reject) => (settle.result = { resolve, reject }));
  ready.catch(() => {});
  result.catch(() => {});
  child.on('message', (msg) => {
    if (msg?.type === 'hello') child.send({ type: 'job', job });
    else if (msg?.type === 'mark' && msg.name === 'ready') settle.ready.resolve();
    else if (msg?.type === 'result') {
      if (msg.ok) settle.result.resolve(msg.result);
      else settle.result.reject(new Error(msg.error));
    }
  });
  child.once('exit', (code, signal) => {
    const err = new Error(`client exited (${code ?? signal}) during the aggregate test`);
    settle.ready.reject(err);
    settle.result.reject(err);
  });
  return { child, ready, result, go: () => child.connected && child.send({ type: 'continue', name: 'ready' }) };
}

/**
 * One aggregate measurement: `streams` concurrent transfers of totalBytes/streams each in
 * `direction`, shared by config.aggregate.clients client processes that open their streams
 * first and then start together. The rate is all bytes over the time from the first start
 * to the last end; the proxy's CPU is that of its whole process tree (workers, forked
 * handlers and their reaped children) from the start signal to the last result.
 */
async function runAggregate(ep, direction, streams, totalBytes, proxyPid) {
  const count = Math.min(config.aggregate.clients, streams);
  const bytes = Math.floor(totalBytes / streams);
  const clients = Array.from({ length: count }, (_, i) =>
    aggregateClient({
      kind: 'aggregate',
      endpoint: ep,
      direction,
      streams: Math.floor(streams / count) + (i < streams % count ? 1 : 0),
      bytes,
      chunk: config.chunk,
    }),
  );
  try {
    await within(Promise.all(clients.map((c) => c.ready)), 60000, `opening ${streams} streams`);
    const cpu0 = treeCpu(proxyPid);
    for (const c of clients) c.go();
    const results = await within(Promise.all(clients.map((c) => c.result)), 180000, `${streams} streams`);
    const proxyCpuSeconds = treeCpu(proxyPid) - cpu0;
    const moved = results.reduce((a, r) => a + r.bytes, 0);
    const secondsTaken = Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt));
    return { streams, clients: count, bytes: moved, seconds: secondsTaken, proxyCpuSeconds };
  } finally {
    for (const c of clients) {
      if (c.child.connected) c.child.disconnect();
      await stopChild(c.child, 2000);
    }
  }
}

/** The aggregate test in one direction, on a fresh instance: a warm-up, then each stream count. */
async function aggregate(sys, targets, direction) {
  const port = direction === 'up' ? targets.ports.sink : targets.ports.request;
  return withSystem(sys, port, async (inst) => {
    const ep = endpoint(sys, inst);
    const { streams, bytes } = config.aggregate;
    await runAggregate(ep, direction, Math.max(...streams), config.warmupBytes, inst.pid);
    const metrics = {};
    const detail = {};
    const dir = direction === 'up' ? 'Up' : 'Down';
    for (const n of streams) {
      const r = await runAggregate(ep, direction, n, bytes, inst.pid);
      metrics[`agg${n}${dir}MiBs`] = r.bytes / MiB / r.seconds;
      metrics[`agg${n}${dir}CpuPerGiB`] = r.proxyCpuSeconds / (r.bytes / 1024 ** 3);
      detail[n] = r;
    }
    return { metrics, detail };
  });
}

/** Each measurement: start a fresh instance of the system pointed at the right target. */
const MEASURE = {
  aggUp: (sys, targets) => aggregate(sys, targets, 'up'),
  aggDown: (sys, targets) => aggregate(sys, targets, 'down'),
  sysUp: (sys, targets) => syscallsPerMiB(sys, targets, 'up'),
  sysDown: (sys, targets) => syscallsPerMiB(sys, targets, 'down'),

  async up(sys, targets) {
    return withSystem(sys, targets.ports.sink, async (inst) => {
      const { result, marks } = await runClientJob(
        {
          kind: 'up',
          endpoint: bulkEndpoint(sys, inst),
          bytes: config.bytes,
          chunk: config.chunk,
          warmupBytes: config.warmupBytes,
        },
        { proxyPid: inst.pid, targetsPid: targets.pid, timeoutMs: 180000 },
      );
      const cpu = cpuBetween(marks, 'start', 'end');
      const upCpuPerGiB = cpu ? cpu.proxyCpuSeconds / (result.bytes / 1024 ** 3) : null;
      return { metrics: { upMiBs: result.mibPerSec, upCpuPerGiB }, detail: { ...result, cpu } };
    });
  },

  async down(sys, targets) {
    return withSystem(sys, targets.ports.source, async (inst) => {
      const { result, marks } = await runClientJob(
        { kind: 'down', endpoint: bulkEndpoint(sys, inst), bytes: config.bytes, warmupBytes: config.warmupBytes },
        { proxyPid: inst.pid, targetsPid: targets.pid, timeoutMs: 180000 },
      );
      const cpu = cpuBetween(marks, 'start', 'end');
      const downCpuPerGiB = cpu ? cpu.proxyCpuSeconds / (result.bytes / 1024 ** 3) : null;
      return { metrics: { downMiBs: result.mibPerSec, downCpuPerGiB }, detail: { ...result, cpu } };
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
      const cpu = cpuBetween(marks, 'start', 'end');
      const connCpuUs = cpu ? (cpu.proxyCpuSeconds / result.done) * 1e6 : null;
      const clientCpuUs = cpu ? (cpu.clientCpuSeconds / result.done) * 1e6 : null;
      return { metrics: { connPerSec: result.perSec, connCpuUs, clientCpuUs }, detail: { ...result, cpu } };
    });
  },

  async memory(sys, targets) {
    const steps = FORKING.has(sys.name) ? [config.memory.pythonCap] : config.memory.steps;
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
        const key = FORKING.has(sys.name) ? config.memory.steps[0] : step;
        metrics[`rss${key}`] = rssPer;
        metrics[`pss${key}`] = pssPer;
        if (FORKING.has(sys.name)) metrics.pythonConns = m.open;
      }
      // What one more idle connection costs, between the first and the last step: the fixed
      // growth of the heap and allocator that the first step also carries is left out.
      const [lo, hi] = [mem[`open-${steps[0]}`], mem[`open-${steps[steps.length - 1]}`]];
      if (steps.length > 1 && lo?.open && hi?.open && hi.open > lo.open) {
        metrics.rssMarginal = (hi.rssKB - lo.rssKB) / (hi.open - lo.open);
      }
      return { metrics, detail };
    });
  },
};

/**
 * Wait (bounded) until the machine is nearly idle, so a measurement does not start
 * while something else (a build, a test run) is using the cores. Returns the load seen.
 */
async function waitForQuiet() {
  const limitMs = config.quietWaitMs;
  const t0 = Date.now();
  let load = null;
  for (;;) {
    const a = machineCpu();
    await sleep(200);
    const b = machineCpu();
    if (!a || !b) return { waitedMs: 0, load: null };
    load = ((b.busy - a.busy) / (b.total - a.total)) * 100 * (b.total - a.total > 0 ? machineCores : 0);
    if (load < config.quietThreshold || Date.now() - t0 >= limitMs) break;
  }
  const waitedMs = Date.now() - t0 - 200;
  quietLog.push({ waitedMs, load: Math.round(load) });
  return { waitedMs, load };
}

async function withSystem(sys, targetPort, fn) {
  const inst = await startSystem(sys, targetPort);
  try {
    await waitForQuiet();
    return await fn(inst);
  } catch (e) {
    const tail = inst.tail().trim().split('\n').slice(-5).join('\n');
    throw new Error(`${e.message}${tail ? `\n  ${sys.name} stderr tail:\n  ${tail}` : ''}`);
  } finally {
    await stopChild(inst.child);
  }
}

/** Start a fresh instance of each named system; failures are collected in `errors`. */
async function startAll(names, defs, port, errors) {
  const insts = {};
  for (const n of names) {
    try {
      insts[n] = await startSystem(defs[n], port);
    } catch (e) {
      errors[n] = e.message;
    }
  }
  await waitForQuiet();
  return insts;
}

/**
 * Starts every system against the target `port`, hands those that came up, with their
 * endpoints, to `measure` (which returns their results and may add to `errors`), and stops
 * them all afterwards.
 */
async function withAll(names, defs, port, endpointOf, measure) {
  const errors = {};
  const insts = await startAll(names, defs, port, errors);
  try {
    const up = Object.keys(insts);
    if (!up.length) return { results: {}, errors };
    const endpoints = Object.fromEntries(up.map((n) => [n, endpointOf(defs[n], insts[n])]));
    const proxyPids = Object.fromEntries(up.map((n) => [n, insts[n].pid]));
    return { results: await measure({ up, endpoints, proxyPids, errors }), errors };
  } finally {
    for (const n of Object.keys(insts)) await stopChild(insts[n].child);
  }
}

function groupThroughput(direction, names, defs, targets) {
  const port = direction === 'up' ? targets.ports.sink : targets.ports.source;
  return withAll(names, defs, port, bulkEndpoint, async ({ up, endpoints, proxyPids }) => {
    const { result, marks } = await runClientJob(
      {
        kind: 'throughputInterleaved',
        endpoints,
        direction,
        bytes: config.bytes,
        chunk: config.chunk,
        warmupBytes: config.warmupBytes,
        reps: config.throughputReps,
      },
      { proxyPids, targetsPid: targets.pid, timeoutMs: 120000 + 60000 * config.throughputReps * up.length },
    );
    const results = {};
    for (const n of up) {
      const runs = result.systems[n].map((run, r) => {
        const cpu = cpuBetween(marks, `start:${n}:${r}`, `end:${n}:${r}`);
        const faults = faultsPerMiB(marks, `start:${n}:${r}`, `end:${n}:${r}`, run.bytes);
        return { ...run, cpu, faults, cpuPerGiB: cpu ? cpu.proxyCpuSeconds / (run.bytes / 1024 ** 3) : null };
      });
      const cpuMedian = (k) => median(runs.map((x) => x.cpu?.[k]));
      results[n] = {
        metrics: {
          [`${direction}MiBs`]: median(runs.map((x) => x.mibPerSec)),
          [`${direction}CpuPerGiB`]: median(runs.map((x) => x.cpuPerGiB)),
          [`${direction}MinfltPerMiB`]: median(runs.map((x) => x.faults.minor)),
          [`${direction}MajfltPerMiB`]: median(runs.map((x) => x.faults.major)),
        },
        detail: {
          runs,
          cpu: {
            proxy: cpuMedian('proxy'),
            client: cpuMedian('client'),
            targets: cpuMedian('targets'),
            machine: cpuMedian('machine'),
            other: cpuMedian('other'),
          },
        },
      };
    }
    return results;
  });
}

/**
 * Measurements that run all systems at once: each system gets its own fresh instance,
 * and one client alternates between them in small blocks so that they share the same
 * machine conditions (round trips are the most sensitive to the noisy neighbours).
 */
const GROUP = {
  up: (names, defs, targets) => groupThroughput('up', names, defs, targets),
  down: (names, defs, targets) => groupThroughput('down', names, defs, targets),
  rtt: (names, defs, targets) =>
    withAll(names, defs, targets.ports.echo, endpoint, async ({ up, endpoints, proxyPids }) => {
      const { result } = await runClientJob(
        { kind: 'rttInterleaved', endpoints, ...config.rtt },
        { proxyPid: proxyPids[up[0]], targetsPid: targets.pid, timeoutMs: 180000 },
      );
      const results = {};
      for (const n of up) {
        const r = result.systems[n];
        results[n] = { metrics: { rttP50: r.p50, rttP99: r.p99 }, detail: { ...r, interleavedBlock: result.block } };
      }
      return results;
    }),
  /** The rate test: blocks of connections alternate between the systems. */
  rate: (names, defs, targets) =>
    withAll(names, defs, targets.ports.echo, endpoint, async ({ up, endpoints, proxyPids, errors }) => {
      const blocks = Math.ceil(config.rate.count / config.rate.block) + 1;
      const { result, marks } = await runClientJob(
        { kind: 'rateInterleaved', endpoints, ...config.rate },
        { proxyPids, targetsPid: targets.pid, timeoutMs: (config.rate.maxSeconds * blocks * up.length + 60) * 1000 },
      );
      const results = {};
      for (const n of up) {
        const r = result.systems[n];
        if (!r.done) {
          errors[n] = `no connection completed: ${r.lastError}`;
          continue;
        }
        // Each system's CPU over its own blocks only.
        let proxyCpuSeconds = 0;
        let clientCpuSeconds = 0;
        let measured = true;
        for (const b of r.blocks) {
          const cpu = cpuBetween(marks, `start:${n}:${b}`, `end:${n}:${b}`);
          if (!cpu) measured = false;
          else {
            proxyCpuSeconds += cpu.proxyCpuSeconds;
            clientCpuSeconds += cpu.clientCpuSeconds;
          }
        }
        const perConn = (sec) => (measured ? (sec / r.done) * 1e6 : null);
        results[n] = {
          metrics: {
            connPerSec: r.perSec,
            connCpuUs: perConn(proxyCpuSeconds),
            clientCpuUs: perConn(clientCpuSeconds),
          },
          detail: {
            ...r,
            interleavedBlock: result.block,
            cpu: measured ? { proxyCpuSeconds, clientCpuSeconds } : null,
          },
        };
      }
      return results;
    }),
};

const TEST_PARTS = {
  throughput: ['up', 'down'],
  syscalls: ['sysUp', 'sysDown'],
  aggregate: ['aggUp', 'aggDown'],
  rtt: ['rtt'],
  rate: ['rate'],
  memory: ['memory'],
};

// ------------------------------------------------------------------ report

const ROWS = [
  { key: 'upMiBs', label: 'Throughput client->target (MiB/s)', digits: 0, better: 'higher', test: 'throughput' },
  { key: 'downMiBs', label: 'Throughput target->client (MiB/s)', digits: 0, better: 'higher', test: 'throughput' },
  { key: 'upCpuPerGiB', label: 'Proxy CPU s per GiB, client->target', digits: 2, better: 'lower', test: 'throughput' },
  {
    key: 'downCpuPerGiB',
    label: 'Proxy CPU s per GiB, target->client',
    digits: 2,
    better: 'lower',
    test: 'throughput',
  },
  {
    key: 'upMinfltPerMiB',
    label: 'Proxy minor faults per MiB, client->target',
    digits: 1,
    better: 'lower',
    test: 'throughput',
  },
  {
    key: 'downMinfltPerMiB',
    label: 'Proxy minor faults per MiB, target->client',
    digits: 1,
    better: 'lower',
    test: 'throughput',
  },
  {
    key: 'upMajfltPerMiB',
    label: 'Proxy major faults per MiB, client->target',
    digits: 2,
    better: 'lower',
    test: 'throughput',
  },
  {
    key: 'downMajfltPerMiB',
    label: 'Proxy major faults per MiB, target->client',
    digits: 2,
    better: 'lower',
    test: 'throughput',
  },
  { key: 'upSysPerMiB', label: 'Proxy syscalls per MiB, client->target', digits: 0, better: 'lower', test: 'syscalls' },
  {
    key: 'downSysPerMiB',
    label: 'Proxy syscalls per MiB, target->client',
    digits: 0,
    better: 'lower',
    test: 'syscalls',
  },
  { key: 'rttP50', label: 'Round trip p50 (us)', digits: 1, better: 'lower', test: 'rtt' },
  { key: 'rttP99', label: 'Round trip p99 (us)', digits: 1, better: 'lower', test: 'rtt' },
  {
    key: 'connPerSec',
    label: `Connections/s (${config.rate.concurrency} in flight)`,
    digits: 0,
    better: 'higher',
    test: 'rate',
  },
  { key: 'connCpuUs', label: 'Proxy CPU per connection (us)', digits: 0, better: 'lower', test: 'rate' },
  { key: 'clientCpuUs', label: 'Client CPU per connection (us)', digits: 0, better: 'lower', test: 'rate' },
  { key: 'baseRssMB', label: 'Idle proxy RSS before (MB)', digits: 1, better: 'lower', test: 'memory' },
];

function aggregateRows() {
  const rows = [];
  for (const [dir, label] of [
    ['Up', 'client->target'],
    ['Down', 'target->client'],
  ]) {
    for (const n of config.aggregate.streams) {
      rows.push({
        key: `agg${n}${dir}MiBs`,
        label: `Aggregate ${label}, ${n} streams (MiB/s)`,
        digits: 0,
        better: 'higher',
        test: 'aggregate',
      });
    }
    for (const n of config.aggregate.streams) {
      rows.push({
        key: `agg${n}${dir}CpuPerGiB`,
        label: `Proxy CPU s per GiB, aggregate ${label}, ${n} streams`,
        digits: 2,
        better: 'lower',
        test: 'aggregate',
      });
    }
  }
  return rows;
}

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
  const [first, last] = [config.memory.steps[0], config.memory.steps[config.memory.steps.length - 1]];
  if (last !== first) {
    rows.push({
      key: 'rssMarginal',
      label: `RSS per extra idle conn, ${first}->${last} (KB)`,
      digits: 1,
      better: 'lower',
      test: 'memory',
    });
  }
  return rows;
}

// Targets for ours, as ratios to other systems measured in the same round (median of the
// per-round ratios ours/other), or absolute values (median of ours).
const CPU_TARGET = {
  text: '<= socat, <= lighttpd, <= 0.5x python',
  vs: [
    ['socat', (r) => r <= 1],
    ['lighttpd', (r) => r <= 1],
    ['python', (r) => r <= 0.5],
  ],
};
const TARGETS = {
  upMiBs: { text: '>= 1.5x python', vs: [['python', (r) => r >= 1.5]] },
  downMiBs: { text: '>= 1.5x python', vs: [['python', (r) => r >= 1.5]] },
  upCpuPerGiB: CPU_TARGET,
  downCpuPerGiB: CPU_TARGET,
  connPerSec: { text: '>= 1.3x before', vs: [['before', (r) => r >= 1.3]] },
  rss1000: { text: '<= 16 KB', value: (v) => v <= 16 },
  rss5000: { text: '<= 16 KB', value: (v) => v <= 16 },
  rssMarginal: { text: '<= 16 KB', value: (v) => v <= 16 },
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
  const rows = [...ROWS, ...aggregateRows(), ...memoryRows()].filter((r) => config.tests.includes(r.test));
  const medians = {};
  for (const s of shown) {
    medians[s] = {};
    for (const r of rows) medians[s][r.key] = median(samples[s]?.[r.key] ?? []);
  }
  const table = [];
  const header = ['Metric', ...shown];
  const showTargets = shown.includes('ours');
  if (showTargets) header.push('Target (ours)', 'Met (ours/other)');
  const evaluation = {};
  for (const r of rows) {
    const line = [r.label];
    for (const s of shown) {
      const st = systems[s];
      if (st.skipped) line.push('skipped');
      else {
        let cell = fmt(medians[s][r.key], r.digits);
        if (FORKING.has(s) && r.test === 'memory' && cell !== '-') cell += '*';
        if (FORKING.has(s) && r.test === 'memory' && r.key.match(/\d+$/) && !r.pythonFootnote) cell = '-';
        line.push(cell);
      }
    }
    if (showTargets) {
      const t = TARGETS[r.key];
      if (!t) line.push('', '');
      else if (t.value) {
        const v = medians.ours?.[r.key];
        const ok = v == null ? null : t.value(v);
        evaluation[r.key] = { target: t.text, value: v, met: ok };
        line.push(t.text, ok == null ? 'n/a' : ok ? 'yes' : 'NO');
      } else {
        const parts = [];
        let all = true;
        let any = false;
        for (const [other, check] of t.vs) {
          const ratio = systems[other]?.skipped ? null : pairedRatio(samples, 'ours', other, r.key);
          if (ratio == null) {
            parts.push(`${other} n/a`);
            continue;
          }
          any = true;
          const ok = check(ratio);
          all &&= ok;
          parts.push(`${ok ? '' : 'NOT '}${fmt(ratio, 2)}x ${other}`);
          evaluation[`${r.key}:${other}`] = { target: t.text, ratio, met: ok };
        }
        line.push(t.text, `${any ? (all ? 'yes' : 'NO') : 'n/a'}: ${parts.join(', ')}`);
      }
    }
    table.push(line);
  }
  // CPU use during throughput, from /proc: shows whether the client was the bottleneck.
  if (config.tests.includes('throughput')) {
    for (const dir of ['up', 'down']) {
      for (const who of ['proxy', 'client', 'targets', 'other']) {
        const label = who === 'other' ? 'rest of machine' : who;
        const line = [`CPU % ${label} (${dir === 'up' ? 'client->target' : 'target->client'})`];
        for (const s of shown) {
          const vals = state.details
            .filter((d) => d.system === s && d.part === dir && d.detail?.cpu)
            .map((d) => d.detail.cpu[who]);
          line.push(systems[s].skipped ? 'skipped' : fmt(median(vals), 0));
        }
        if (showTargets) line.push('', '');
        table.push(line);
      }
    }
  }
  return { header, table, medians, evaluation };
}

/** A horizontal bar chart (SVG) of proxy CPU seconds per GiB, per system and direction. */
function cpuChart(medians, systems, title) {
  const shown = config.systems.filter((sname) => !systems[sname].skipped);
  const dirs = [
    ['downCpuPerGiB', 'target->client', '#2b6cb0'],
    ['upCpuPerGiB', 'client->target', '#dd6b20'],
  ];
  const max = Math.max(0.1, ...shown.flatMap((sname) => dirs.map(([k]) => medians[sname]?.[k] ?? 0)));
  const left = 90;
  const width = 640;
  const barW = width - left - 70;
  const rowH = 34;
  const top = 46;
  const height = top + shown.length * rowH + 30;
  const esc = (t) => String(t).replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  dirs.forEach(([, label, color], i) => {
    const x = left + i * 150;
    parts.push(`<rect x="${x}" y="28" width="12" height="10" fill="${color}"/>`);
    parts.push(`<text x="${x + 16}" y="37">${label}</text>`);
  });
  shown.forEach((sname, row) => {
    const y = top + row * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 19}" text-anchor="end">${esc(sname)}</text>`);
    dirs.forEach(([key, , color], i) => {
      const v = medians[sname]?.[key];
      if (v == null) return;
      const w = Math.max(1, (v / max) * barW);
      const by = y + 3 + i * 14;
      parts.push(`<rect x="${left}" y="${by}" width="${w.toFixed(1)}" height="12" fill="${color}"/>`);
      parts.push(`<text x="${(left + w + 4).toFixed(1)}" y="${by + 10}">${v.toFixed(2)}</text>`);
    });
  });
  parts.push(
    `<text x="${left}" y="${height - 8}" fill="#555">proxy CPU seconds per GiB moved (lower is better); medians over rounds</text>`,
    '</svg>',
    '',
  );
  return parts.join('\n');
}

function textTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable(header, rows) {
  const esc = (c) => String(c).replaceAll('|', '\\|').replaceAll('*', '\\*');
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
      `* python and socat fork one process per connection: memory measured with ${n} connections (not ${config.memory.steps.join('/')}) ` +
        'and summed over the parent and all its children; RSS counts shared pages once per process, PSS shares them out.',
    );
  }
  if (config.tests.includes('memory') && config.systems.includes('ours2') && !state.systems.ours2.skipped) {
    const within = (v) => (v != null && v > 20 ? ' (NOT met)' : '');
    const perStep = config.memory.steps.map((step) => {
      const v = median(state.samples.ours2?.[`rss${step}`] ?? []);
      return `${fmt(v, 1)} KB @${step}${within(v)}`;
    });
    const marginal = median(state.samples.ours2?.rssMarginal ?? []);
    if (marginal != null) perStep.push(`${fmt(marginal, 1)} KB per extra connection${within(marginal)}`);
    notes.push(
      `ours2 (--workers 2): RSS per idle connection summed over the primary and its workers ${perStep.join(', ')}; target <= 20 KB.`,
    );
  }
  notes.push(
    'Ratios are medians of per-round ratios (systems measured back to back within a round; round trips interleaved in blocks of ' +
      `${config.rtt.block} echoes, connections in blocks of ${config.rate.block}). ` +
      'raw clients speak plain TCP, the others WebSocket (binary frames, no compression).',
  );
  const busy = quietLog.filter((q) => q.load >= config.quietThreshold);
  const waited = quietLog.reduce((a, q) => a + q.waitedMs, 0) / 1000;
  if (busy.length) {
    notes.push(
      `Busy machine: ${busy.length} of ${quietLog.length} measurements started while something else used ` +
        `>= ${config.quietThreshold}% CPU (after waiting ${config.quietWaitMs / 1000}s for it to stop); ` +
        'see the "rest of machine" rows. Absolute numbers suffer more than ratios.',
    );
  } else if (waited >= 1) {
    notes.push(`Waited ${waited.toFixed(1)}s in total for other processes to go idle before measurements.`);
  }
  const bySystem = new Map();
  for (const f of state.failures) {
    if (!bySystem.has(f.system)) bySystem.set(f.system, []);
    bySystem.get(f.system).push(f);
  }
  for (const [sys, list] of bySystem) {
    const where = list.map((f) => `r${f.round + 1} ${f.part}`).join(', ');
    notes.push(
      `failures: ${sys} failed ${list.length} measurement(s) (${where}); first: ${list[0].error.split('\n')[0]} (details in the JSON)`,
    );
  }
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
        const tag = (s) => `[round ${round + 1}/${config.rounds}] ${part.padEnd(6)} ${s.padEnd(6)}`;
        const record = (s, { metrics, detail }, t0) => {
          for (const [k, v] of Object.entries(metrics)) {
            (state.samples[s][k] ??= [])[round] = v;
          }
          state.details.push({ round, system: s, part, metrics, detail });
          const summary = Object.entries(metrics)
            .map(([k, v]) => `${k}=${v == null ? '-' : Math.round(v * 10) / 10}`)
            .join(' ');
          say(`${tag(s)} ${summary}  (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
          if (verbose) say(JSON.stringify(detail));
        };
        const fail = (s, e) => {
          state.failures.push({ round, system: s, part, error: e.message });
          say(`${tag(s)} FAILED: ${e.message}`);
        };
        let pending = order;
        if (GROUP[part] && order.length > 1) {
          const t0 = Date.now();
          try {
            const { results, errors } = await GROUP[part](order, defs, targets);
            for (const s of order) {
              if (results[s]) record(s, results[s], t0);
              else fail(s, new Error(errors[s] ?? 'no result'));
            }
            pending = [];
          } catch (e) {
            say(`${tag('all')} interleaved run failed (${e.message.split('\n')[0]}); measuring one by one`);
          }
        }
        for (const s of pending) {
          const t0 = Date.now();
          try {
            record(s, await MEASURE[part](defs[s], targets), t0);
          } catch (e) {
            fail(s, e);
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
    quietWaits: quietLog,
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
    ...notes.map((n) => `- ${n.replaceAll('*', '\\*')}`),
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'latest.md'), md);
  if (config.tests.includes('throughput')) {
    const svg = cpuChart(report.medians, state.systems, `Proxy CPU per GiB (${started.toISOString().slice(0, 10)})`);
    fs.writeFileSync(path.join(outDir, 'cpu-per-gib.svg'), svg);
    if (opt.chart) fs.writeFileSync(path.resolve(opt.chart), svg);
  }
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
