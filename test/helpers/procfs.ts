// Reading process and socket state from /proc for tests: listening sockets on a port, the
// members of a process group, a process's children, session and state, processes by arguments,
// the ports a process itself listens on, the connections it accepted, whether it catches a
// signal, its resident set size.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Local addresses ("127.0.0.1", "::", "::1", "0.0.0.0"...) listening on `port`. */
export function listenersOn(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A' || !f[1]?.endsWith(`:${hexPort}`)) continue;
      found.push(decodeAddress(f[1].split(':')[0]!, v6));
    }
  }
  return found.sort();
}

function decodeAddress(hex: string, v6: boolean): string {
  // /proc/net prints each 32-bit word in host (little-endian) order.
  const words = hex.match(/.{8}/g)!.map((w) => Buffer.from(w, 'hex').reverse());
  const bytes = Buffer.concat(words);
  if (!v6) return [...bytes].join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

interface ProcInfo {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]), session: Number(rest[3]) };
  } catch {
    return undefined;
  }
}

function allProcesses(): ProcInfo[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => procInfo(Number(d)))
    .filter((p): p is ProcInfo => p !== undefined);
}

/** Processes of a group that are still alive (zombies, already dead, are left out). */
export function liveGroupMembers(pgrp: number): number[] {
  return allProcesses()
    .filter((p) => p.pgrp === pgrp && p.state !== 'Z')
    .map((p) => p.pid);
}

/** Direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  return allProcesses()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid);
}

/** The session `pid` belongs to (its leader's PID). */
export function sessionOf(pid: number): number | undefined {
  return procInfo(pid)?.session;
}

/** Live processes whose command line contains `args` in a row (e.g. a unique port argument). */
export function processesWithArgs(args: string[]): number[] {
  const needle = Buffer.from(`\0${args.join('\0')}\0`);
  return allProcesses()
    .filter((p) => p.state !== 'Z')
    .filter((p) => {
      try {
        return Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${p.pid}/cmdline`)]).includes(needle);
      } catch {
        return false;
      }
    })
    .map((p) => p.pid);
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const info = procInfo(pid);
  return info !== undefined && info.state !== 'Z';
}

/**
 * TCP ports on which `pid` itself holds a listening socket: its fds' socket inodes looked up in
 * /proc/PID/net/tcp and tcp6, so another process listening on a port does not count.
 */
export function listeningPortsOf(pid: number): number[] {
  const inodes = socketInodes(pid);
  const ports: number[] = [];
  for (const file of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9] ?? '')) ports.push(parseInt(f[1]!.split(':').pop()!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

/** The resident set size of a process, in bytes, from /proc/PID/status (VmRSS). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Inodes of the sockets among `pid`'s open files. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * True once `pid` has accepted the TCP connection whose client side is local port
 * `clientPort` (it holds that connection's socket: before accept() it is only in the queue).
 */
export function hasAccepted(pid: number, clientPort: number): boolean {
  const inodes = socketInodes(pid);
  for (const file of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const remotePort = parseInt(f[2]?.split(':').pop() ?? '', 16);
      if (remotePort === clientPort && inodes.has(f[9] ?? '')) return true;
    }
  }
  return false;
}

/** True once `pid` has a handler for signal `signo` installed (SigCgt in /proc/PID/status). */
export function catchesSignal(pid: number, signo: number): boolean {
  const m = /^SigCgt:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m !== null && (BigInt(`0x${m[1]}`) & (1n << BigInt(signo - 1))) !== 0n;
}
