// Tests for rebind.so (native/rebind.c) and locateRebindLibrary (src/wrap/rebind-library.ts),
// with real processes: Node and Python servers started under LD_PRELOAD, real connects.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateRebindLibrary, RebindUnavailableError } from '../src/wrap/rebind-library.js';
import { defer } from './helpers/cleanup.js';
import { eventually } from './helpers/wait.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const PYTHON = '/usr/bin/python3';
const WAIT_MS = 10_000;

// ---------------------------------------------------------------------------------------
// Process and socket helpers

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

/** The environment for a child: ours without NODE_OPTIONS (jest's flags make Node warn). */
function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.LD_PRELOAD;
  delete env.REBIND_OLD_PORT;
  delete env.REBIND_NEW_PORT;
  delete env.REBIND_DEBUG;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(command, args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  defer(() => killChild(child));
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return { child, stdout: () => out, stderr: () => err };
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, ms = WAIT_MS): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pid ${child.pid} did not exit`)), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function killChild(child: ChildProcess): Promise<void> {
  if (!exited(child) && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitExit(child);
}

interface Listening {
  host: string;
  port: number;
}

/** Starts a fixture echo server and waits for its READY line. */
async function startServer(
  kind: 'node' | 'python',
  port: number,
  specs: string[],
  env: NodeJS.ProcessEnv,
): Promise<Started & { listening: Listening[] }> {
  const started =
    kind === 'node'
      ? start(process.execPath, [path.join(FIXTURES, 'rebind-server.mjs'), String(port), ...specs], env)
      : start(PYTHON, [path.join(FIXTURES, 'rebind-server.py'), String(port), ...specs], env);
  await eventually(
    () => (/^READY$/m.test(started.stdout()) || exited(started.child) ? true : undefined),
    () => `${kind} server: ${started.stdout()} ${started.stderr()}`,
  );
  if (!/^READY$/m.test(started.stdout())) {
    throw new Error(`${kind} server failed: ${started.stdout()} ${started.stderr()}`);
  }
  const listening = [...started.stdout().matchAll(/^LISTENING (\S+) (\d+)$/gm)].map((m) => ({
    host: m[1] as string,
    port: Number(m[2]),
  }));
  return { ...started, listening };
}

/** A port that is free right now on both 0.0.0.0 and :: (the kernel picks it). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen({ host: '::', port: 0, ipv6Only: false }, () => {
        const { port: chosen } = server.address() as net.AddressInfo;
        server.close(() => resolve(chosen));
      });
    });
    if (port !== 2024) return port;
  }
  throw new Error('no free port');
}

/** Two distinct free ports: P (the "public" one the program asks for) and Q (loopback). */
async function portPair(): Promise<[number, number]> {
  const p = await freePort();
  let q = await freePort();
  while (q === p) q = await freePort();
  return [p, q];
}

/** Connects, sends random bytes and expects them back. */
function echoes(host: string, port: number): Promise<void> {
  const payload = randomBytes(4096);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    let received = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no echo from ${host}:${port}`));
    }, WAIT_MS);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= payload.length) {
        clearTimeout(timer);
        socket.destroy();
        if (Buffer.concat(chunks).equals(payload)) resolve();
        else reject(new Error(`wrong echo from ${host}:${port}`));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Resolves with the error code of a connect attempt ('connected' if it succeeded). */
function connectResult(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, WAIT_MS);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? String(error));
    });
  });
}

/** TCP ports in LISTEN state, from /proc/net/tcp and /proc/net/tcp6. */
function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && fields[1]) ports.add(parseInt(fields[1].split(':')[1] ?? '', 16));
    }
  }
  return ports;
}

interface ProbeCase {
  env?: Record<string, string | null>;
  family: 'inet' | 'inet6' | 'unix';
  host?: string;
  port?: number;
  v6only?: boolean;
  path?: string;
  raw?: 'null' | { len: number };
}

type ProbeResult = { ok: true; host: string; port: number } | { ok: false; errno: string };

/** Runs test/fixtures/rebind-probe.py; returns its results and its stderr split per case. */
async function probe(
  cases: ProbeCase[],
  env: NodeJS.ProcessEnv,
): Promise<{ results: ProbeResult[]; stderr: string[] }> {
  const started = start(PYTHON, [path.join(FIXTURES, 'rebind-probe.py'), JSON.stringify(cases)], env);
  try {
    await waitExit(started.child);
  } finally {
    await killChild(started.child);
  }
  if (started.child.exitCode !== 0) {
    throw new Error(`probe failed (${started.child.exitCode}): ${started.stderr()}`);
  }
  const results = JSON.parse(started.stdout()) as ProbeResult[];
  const stderr = started
    .stderr()
    .split(/^CASE \d+\n/m)
    .slice(1);
  return { results, stderr };
}

// ---------------------------------------------------------------------------------------

let lib = '';
const tempDirs: string[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

beforeAll(async () => {
  lib = await locateRebindLibrary();
});

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function rebindEnv(p: number, q: number, extra: Record<string, string | undefined> = {}) {
  return childEnv({
    LD_PRELOAD: lib,
    REBIND_OLD_PORT: String(p),
    REBIND_NEW_PORT: String(q),
    ...extra,
  });
}

const loopbackFor = (host: string) => (host.includes(':') ? '::1' : '127.0.0.1');

describe('rebind.so moves servers off the public port', () => {
  const specs = ['0.0.0.0', '127.0.0.1', '::/v6only', '::1', '::/dual'];
  const matrix = (['node', 'python'] as const).flatMap((kind) => specs.map((spec) => [kind, spec] as const));

  it.each(matrix)('%s server on %s', async (kind, spec) => {
    const [p, q] = await portPair();
    const host = spec.split('/')[0] as string;
    const loopback = loopbackFor(host);
    const server = await startServer(kind, p, [spec], rebindEnv(p, q));

    expect(server.listening).toEqual([{ host: loopback, port: q }]);
    await echoes(loopback, q);
    expect(await connectResult('127.0.0.1', p)).toBe('ECONNREFUSED');
    expect(await connectResult('::1', p)).toBe('ECONNREFUSED');
    const ports = listeningPorts();
    expect(ports.has(p)).toBe(false);
    expect(ports.has(q)).toBe(true);
    expect(server.stderr()).toBe('');
  });

  it.each(['node', 'python'] as const)('%s server binding both families keeps both, on loopback only', async (kind) => {
    const [p, q] = await portPair();
    const server = await startServer(kind, p, ['0.0.0.0', '::/v6only'], rebindEnv(p, q));

    expect(server.listening).toEqual([
      { host: '127.0.0.1', port: q },
      { host: '::1', port: q },
    ]);
    await echoes('127.0.0.1', q);
    await echoes('::1', q);
    expect(await connectResult('127.0.0.1', p)).toBe('ECONNREFUSED');
    expect(await connectResult('::1', p)).toBe('ECONNREFUSED');
    expect(listeningPorts().has(p)).toBe(false);
    expect(server.stderr()).toBe('');
  });

  it('moves a real program (python -m http.server, dual-stack) and survives exec', async () => {
    const [p, q] = await portPair();
    const dir = await tempDir('rebind-http-');
    await writeFile(path.join(dir, 'hello.txt'), 'hello from the wrapped program\n');
    // sh execs python: LD_PRELOAD and the REBIND_* variables go along.
    const server = start(
      '/bin/sh',
      ['-c', 'exec "$0" "$@"', PYTHON, '-u', '-m', 'http.server', String(p), '--bind', '::', '--directory', dir],
      rebindEnv(p, q),
    );
    const port = await eventually(
      () => /Serving HTTP on \S+ port (\d+)/.exec(server.stdout())?.[1],
      () => `http.server: ${server.stdout()} ${server.stderr()}`,
    );
    expect(Number(port)).toBe(q);

    const body = await new Promise<string>((resolve, reject) => {
      const request = http.get({ host: '::1', port: q, path: '/hello.txt', timeout: WAIT_MS }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      });
      request.on('timeout', () => request.destroy(new Error('HTTP timeout')));
      request.on('error', reject);
    });
    expect(body).toBe('hello from the wrapped program\n');
    expect(await connectResult('127.0.0.1', p)).toBe('ECONNREFUSED');
    expect(await connectResult('::1', p)).toBe('ECONNREFUSED');
  });
});

describe('rebind.so leaves everything else alone', () => {
  it('does not move binds to other ports, and keeps their address', async () => {
    const [p, q] = await portPair();
    const r = await freePort();
    const { results, stderr } = await probe(
      [
        { family: 'inet', host: '127.0.0.2', port: r },
        { family: 'inet6', host: '::1', port: r },
        { family: 'inet', host: '127.0.0.2', port: 0 },
        // Same process, the old port: moved (the env is read on every call).
        { family: 'inet', host: '127.0.0.2', port: p },
      ],
      rebindEnv(p, q),
    );
    expect(results[0]).toEqual({ ok: true, host: '127.0.0.2', port: r });
    expect(results[1]).toEqual({ ok: true, host: '::1', port: r });
    expect(results[2]).toMatchObject({ ok: true, host: '127.0.0.2' });
    expect(results[2]).not.toMatchObject({ port: q });
    expect(results[3]).toEqual({ ok: true, host: '127.0.0.1', port: q });
    expect(stderr.join('')).toBe('');
  });

  it('does not move anything when the environment is invalid', async () => {
    const [p, q] = await portPair();
    const bad = ['', 'abc', '0', '70000', '65536', `${p}abc`, `+${p}`, ` ${p}`, `${p} `, '-1', '0x10'];
    const cases: ProbeCase[] = [
      ...bad.map((old) => ({
        env: { REBIND_OLD_PORT: old, REBIND_NEW_PORT: String(q) },
      })),
      ...bad.map((neu) => ({
        env: { REBIND_OLD_PORT: String(p), REBIND_NEW_PORT: neu },
      })),
      { env: { REBIND_OLD_PORT: String(p), REBIND_NEW_PORT: null } },
      { env: { REBIND_OLD_PORT: null, REBIND_NEW_PORT: String(q) } },
      { env: { REBIND_OLD_PORT: null, REBIND_NEW_PORT: null } },
    ].map((c) => ({
      ...c,
      family: 'inet' as const,
      host: '127.0.0.2',
      port: p,
    }));
    const { results, stderr } = await probe(cases, rebindEnv(p, q, { REBIND_DEBUG: '1' }));

    expect(results).toHaveLength(cases.length);
    for (const result of results) expect(result).toEqual({ ok: true, host: '127.0.0.2', port: p });
    expect(stderr.join('')).toBe('');
  });

  it('accepts leading zeros, as plain base-10', async () => {
    const [p, q] = await portPair();
    const { results } = await probe(
      [{ family: 'inet', host: '0.0.0.0', port: p }],
      rebindEnv(p, q, { REBIND_OLD_PORT: `00${p}`, REBIND_NEW_PORT: `0${q}` }),
    );
    expect(results).toEqual([{ ok: true, host: '127.0.0.1', port: q }]);
  });

  it('passes AF_UNIX, NULL and short addresses through with the usual errno', async () => {
    const [p, q] = await portPair();
    const dir = await tempDir('rebind-unix-');
    const { results } = await probe(
      [
        { family: 'unix', path: path.join(dir, 'sock') },
        { family: 'inet', raw: 'null' },
        // Too short for its family: the kernel rejects it; the library must not "fix" it.
        { family: 'inet', host: '0.0.0.0', port: p, raw: { len: 8 } },
        { family: 'inet6', host: '::', port: p, raw: { len: 20 } },
        // The RFC 2133 length (24 bytes, no scope id) is valid on Linux: moved.
        { family: 'inet6', host: '::', port: p, raw: { len: 24 } },
        { family: 'inet', host: '0.0.0.0', port: p, raw: { len: 16 } },
      ],
      rebindEnv(p, q),
    );
    expect(results).toEqual([
      { ok: true, host: path.join(dir, 'sock'), port: 0 },
      { ok: false, errno: 'EFAULT' },
      { ok: false, errno: 'EINVAL' },
      { ok: false, errno: 'EINVAL' },
      { ok: true, host: '::1', port: q },
      { ok: true, host: '127.0.0.1', port: q },
    ]);
  });

  it('keeps errno from a moved bind that fails, and IPv4-mapped binds stay IPv4', async () => {
    const [p, q] = await portPair();
    const blocker = await startServer('node', q, ['127.0.0.1'], childEnv({}));
    expect(blocker.listening).toEqual([{ host: '127.0.0.1', port: q }]);
    const { results } = await probe(
      [
        { family: 'inet', host: '0.0.0.0', port: p },
        { family: 'inet6', host: '::', port: p, v6only: true },
        // ::ffff:a.b.c.d asks for IPv4 traffic: it goes to ::ffff:127.0.0.1, which is taken.
        { family: 'inet6', host: '::ffff:0.0.0.0', port: p, v6only: false },
        // On a v6-only socket a mapped address is invalid, before and after the move.
        { family: 'inet6', host: '::ffff:127.0.0.1', port: p, v6only: true },
      ],
      rebindEnv(p, q),
    );
    expect(results).toEqual([
      { ok: false, errno: 'EADDRINUSE' },
      { ok: true, host: '::1', port: q },
      { ok: false, errno: 'EADDRINUSE' },
      { ok: false, errno: 'EINVAL' },
    ]);
  });

  it('prints one line per moved bind only when REBIND_DEBUG is set', async () => {
    const [p, q] = await portPair();
    const r = await freePort();
    const cases = (debug: string | null): ProbeCase[] => [
      {
        env: { REBIND_DEBUG: debug },
        family: 'inet',
        host: '0.0.0.0',
        port: p,
      },
      { family: 'inet6', host: '::', port: p, v6only: false },
      { family: 'inet', host: '127.0.0.1', port: r },
    ];
    const quiet = await probe([...cases(null), ...cases('0'), ...cases('')], rebindEnv(p, q));
    expect(quiet.stderr.join('')).toBe('');

    const loud = await probe(cases('1'), rebindEnv(p, q));
    expect(loud.results.slice(0, 2)).toEqual([
      { ok: true, host: '127.0.0.1', port: q },
      { ok: true, host: '::1', port: q },
    ]);
    expect(loud.stderr[0]).toMatch(
      new RegExp(`^rebind: pid \\d+ fd \\d+: bind 0\\.0\\.0\\.0:${p} moved to 127\\.0\\.0\\.1:${q}\\n$`),
    );
    expect(loud.stderr[1]).toMatch(
      new RegExp(`^rebind: pid \\d+ fd \\d+: bind \\[::\\]:${p} moved to \\[::1\\]:${q}\\n$`),
    );
    expect(loud.stderr[2]).toBe('');
  });
});

describe('locateRebindLibrary', () => {
  const source = path.join(ROOT, 'native', 'rebind.c');

  it('finds the library next to the package, whatever the current directory', async () => {
    const cwd = process.cwd();
    const elsewhere = await tempDir('rebind-cwd-');
    let found: string;
    try {
      process.chdir(elsewhere);
      found = await locateRebindLibrary();
    } finally {
      process.chdir(cwd);
    }
    expect(path.isAbsolute(found)).toBe(true);
    expect(existsSync(found)).toBe(true);
    const built = path.join(ROOT, 'build', 'Release', 'rebind.so');
    if (existsSync(built)) expect(found).toBe(built);
  });

  it('compiles into the cache when the package has no build, atomically and once', async () => {
    const pkg = await tempDir('rebind-pkg-');
    const cache = await tempDir('rebind-cache-');
    await mkdir(path.join(pkg, 'native'));
    await copyFile(source, path.join(pkg, 'native', 'rebind.c'));
    const env = { ...process.env, XDG_CACHE_HOME: cache };

    // Concurrent starts all get the same, complete file.
    const found = await Promise.all([1, 2, 3].map(() => locateRebindLibrary({ packageRoot: pkg, env })));
    const compiled = found[0] as string;
    expect(new Set(found).size).toBe(1);
    expect(compiled.startsWith(path.join(cache, 'websockify-node') + path.sep)).toBe(true);
    expect(path.basename(compiled)).toBe('rebind.so');
    expect(await readdir(path.dirname(compiled))).toEqual(['rebind.so']);
    expect(await locateRebindLibrary({ packageRoot: pkg, env })).toBe(compiled);

    // And it works.
    const [p, q] = await portPair();
    const { results } = await probe(
      [{ family: 'inet6', host: '::', port: p }],
      childEnv({
        LD_PRELOAD: compiled,
        REBIND_OLD_PORT: String(p),
        REBIND_NEW_PORT: String(q),
      }),
    );
    expect(results).toEqual([{ ok: true, host: '::1', port: q }]);
  });

  it('explains how to build it when compiling fails', async () => {
    const pkg = await tempDir('rebind-pkg-');
    const cache = await tempDir('rebind-cache-');
    await mkdir(path.join(pkg, 'native'));
    await writeFile(path.join(pkg, 'native', 'rebind.c'), '#error this source is broken on purpose\n');
    const attempt = locateRebindLibrary({
      packageRoot: pkg,
      env: { ...process.env, XDG_CACHE_HOME: cache },
    });
    await expect(attempt).rejects.toBeInstanceOf(RebindUnavailableError);
    await expect(attempt).rejects.toThrow(/broken on purpose/);
    // pkg is laid out like a clone (not under node_modules): node-gyp in its directory.
    await expect(attempt).rejects.toThrow(`Build it with \`cd ${pkg} && npx node-gyp rebuild\``);
    await expect(attempt).rejects.toThrow(
      /cc -shared -fPIC -O2 -o \S+build\/Release\/rebind\.so \S+native\/rebind\.c -ldl/,
    );
    // No half-written files are left behind.
    const leftovers = await readdir(path.join(cache, 'websockify-node'), {
      recursive: true,
    });
    expect(leftovers.filter((name) => name.endsWith('.so'))).toEqual([]);
  });

  it('says so when there is no C compiler', async () => {
    const pkg = await tempDir('rebind-pkg-');
    const cache = await tempDir('rebind-cache-');
    const emptyBin = await tempDir('rebind-bin-');
    await mkdir(path.join(pkg, 'native'));
    await copyFile(source, path.join(pkg, 'native', 'rebind.c'));
    const env = { PATH: emptyBin, XDG_CACHE_HOME: cache };
    const attempt = locateRebindLibrary({ packageRoot: pkg, env });
    await expect(attempt).rejects.toBeInstanceOf(RebindUnavailableError);
    await expect(attempt).rejects.toThrow(/ cc: not found\n {2}gcc: not found\n/);
  });

  it('says so when the source is missing too', async () => {
    const pkg = await tempDir('rebind-pkg-');
    await expect(locateRebindLibrary({ packageRoot: pkg })).rejects.toThrow(/source .* is missing/);
  });

  it('refuses at once on a platform without LD_PRELOAD', async () => {
    const attempt = locateRebindLibrary({ platform: 'darwin' });
    await expect(attempt).rejects.toBeInstanceOf(RebindUnavailableError);
    await expect(attempt).rejects.toThrow(
      'wrapping a program needs LD_PRELOAD, which only works on Linux (this is darwin)',
    );
  });
});
