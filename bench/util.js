// Small helpers shared by the benchmark harness: ports, /proc readers, statistics.
import fs from 'node:fs';
import net from 'node:net';

export const KiB = 1024;
export const MiB = 1024 * 1024;

// Ports the harness must never hand out.
const FORBIDDEN_PORTS = new Set([2024]);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `[host:]port` (last colon, brackets around IPv6) as { host, port }. */
function parseSpec(spec, defaultHost) {
  const i = spec.lastIndexOf(':');
  if (i < 0) return { host: defaultHost, port: Number(spec) };
  let host = spec.slice(0, i) || defaultHost;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(spec.slice(i + 1)) };
}

/** The listen and target addresses of a bench relay's command line (exits 2 without them). */
export function relayArgs(script) {
  const [listenSpec, targetSpec] = process.argv.slice(2);
  if (!listenSpec || !targetSpec) {
    process.stderr.write(`usage: node bench/${script} [host:]port target_host:target_port\n`);
    process.exit(2);
  }
  return { listen: parseSpec(listenSpec, '127.0.0.1'), target: parseSpec(targetSpec, '127.0.0.1') };
}

/** Ask the kernel for a currently free TCP port on `host` (bind port 0, read it, release it). */
export async function freePort(host = '127.0.0.1') {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen({ host, port: 0, exclusive: true }, () => {
        const { port: p } = srv.address();
        srv.close(() => resolve(p));
      });
    });
    if (!FORBIDDEN_PORTS.has(port)) return port;
  }
  throw new Error('could not find a free port');
}

/** Resolve true once a TCP connection to host:port succeeds; false on timeout or when alive() turns false. */
export async function waitForPort(host, port, timeoutMs, alive = () => true) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) return false;
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host, port });
      const done = (v) => {
        s.destroy();
        resolve(v);
      };
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
      s.setTimeout(1000, () => done(false));
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
}

// ---------------------------------------------------------------- /proc readers

/** Direct children of pid (all threads), or [] when the process is gone. */
export function childrenOf(pid) {
  const out = [];
  let tasks;
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  let sawChildrenFile = false;
  for (const tid of tasks) {
    try {
      const txt = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      sawChildrenFile = true;
      for (const c of txt.trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // thread exited or the kernel lacks CONFIG_PROC_CHILDREN
    }
  }
  if (sawChildrenFile) return out;
  // Fallback: scan /proc for processes whose parent is pid.
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st && st.ppid === pid) out.push(Number(name));
  }
  return out;
}

/** pid plus all of its descendants. */
export function processTree(pid) {
  const seen = new Set();
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    for (const c of childrenOf(p)) stack.push(c);
  }
  return [...seen];
}

let clockTicks = 100;
export function setClockTicks(n) {
  if (n > 0) clockTicks = n;
}

/** Parse /proc/PID/stat: ppid and CPU seconds (user, system); null when gone. */
export function readStat(pid) {
  let txt;
  try {
    txt = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces; fields after the last ')' are fixed.
  const rest = txt.slice(txt.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17.
  return {
    state: rest[0],
    ppid: Number(rest[1]),
    user: Number(rest[11]) / clockTicks,
    system: Number(rest[12]) / clockTicks,
    // CPU of children that exited and were waited for (Python's per-connection forks).
    children: (Number(rest[13]) + Number(rest[14])) / clockTicks,
    // Page faults (fields 10-13): minor and major, own and of waited-for children.
    minflt: Number(rest[7]) + Number(rest[8]),
    majflt: Number(rest[9]) + Number(rest[10]),
  };
}

/**
 * CPU seconds (user+system) of pid and its live descendants, plus what their reaped
 * children used, so that short-lived forked handlers are counted too.
 */
export function treeCpu(pid) {
  let total = 0;
  for (const p of processTree(pid)) {
    const st = readStat(p);
    if (st) total += st.user + st.system + st.children;
  }
  return total;
}

/** Page faults of pid and its live descendants (and of their reaped children). */
export function treeFaults(pid) {
  const total = { minor: 0, major: 0 };
  for (const p of processTree(pid)) {
    const st = readStat(p);
    if (st) {
      total.minor += st.minflt;
      total.major += st.majflt;
    }
  }
  return total;
}

/** Machine-wide CPU seconds from /proc/stat: busy (everything but idle and iowait) and total. */
export function machineCpu() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = v[3] + v[4];
    return { busy: (total - idle) / clockTicks, total: total / clockTicks };
  } catch {
    return null;
  }
}

function readKbField(text, field) {
  const m = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : null;
}

/** VmRSS (KB) from /proc/PID/status and Pss (KB) from /proc/PID/smaps_rollup (null if unreadable). */
export function readMem(pid) {
  let rssKB = null;
  let pssKB = null;
  try {
    rssKB = readKbField(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
  } catch {
    return null;
  }
  try {
    pssKB = readKbField(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
  } catch {
    pssKB = null;
  }
  return { rssKB, pssKB };
}

/** Memory summed over pid and its descendants. */
export function treeMem(pid) {
  const pids = processTree(pid);
  let rssKB = 0;
  let pssKB = 0;
  let pssOk = true;
  let procs = 0;
  for (const p of pids) {
    const m = readMem(p);
    if (!m || m.rssKB == null) continue;
    procs++;
    rssKB += m.rssKB;
    if (m.pssKB == null) pssOk = false;
    else pssKB += m.pssKB;
  }
  return { rssKB, pssKB: pssOk ? pssKB : null, procs };
}

// ---------------------------------------------------------------- statistics

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Nearest-rank percentile of an ascending-sorted array (p in 0..100). */
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function parseHostPort(spec) {
  const i = spec.lastIndexOf(':');
  let host = spec.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(spec.slice(i + 1)) };
}
