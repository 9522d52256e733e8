// websockify as PID 1 (a container's entrypoint): the native init build/Release/websockify-init
// (native/init.c) and the sh launcher bin/websockify that puts it in front of node when it runs
// as PID 1. Real processes in real pid namespaces (`unshare --pid --fork --mount-proc`, needs
// root), no mocks. Every process started here is killed by PID afterwards; killing a
// namespace's init ends the whole namespace.

import { describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants as fsConstants,
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defer } from './helpers/cleanup.js';
import { openClient } from './helpers/clients.js';
import { listeningPortsOf } from './helpers/procfs.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { echoTarget, unusedPort, type TestTarget } from './helpers/targets.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const INIT = path.join(ROOT, 'build', 'Release', 'websockify-init');
const LAUNCHER = path.join(ROOT, 'bin', 'websockify');
const PYTHON = '/usr/bin/python3';
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** `unshare --pid --fork --mount-proc` works here (root on Linux). */
const canUnshare =
  process.platform === 'linux' &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore', timeout: 10000 }).status === 0;
if (!canUnshare) console.warn('pid1.test.ts: `unshare --pid --fork --mount-proc` is unavailable (not root?): skipped');
const describeNs = canUnshare ? describe : describe.skip;

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** The exit code, or 128+N after death by signal N. */
  exited: Promise<number>;
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

/** Ends `p` if it still runs, and waits for it. */
async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    // For an unshare process, its child is the namespace's init: SIGKILL ends the namespace.
    for (const pid of childrenOf(p.pid)) killQuietly(pid, 'SIGKILL');
    killQuietly(p.pid, 'SIGKILL');
  }
  await withTimeout(p.exited, 10000, `exit of pid ${p.pid}`);
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function start(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv | undefined; cwd?: string } = {},
): Proc {
  const child = spawn(file, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: 'pipe' });
  child.stdin!.end();
  const text = { stdout: '', stderr: '' };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]!.on('data', (d: Buffer) => {
      text[stream] += d.toString();
    });
  }
  const exited = new Promise<number>((resolve) => {
    // 'close': the exit status and all output are in.
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    child.on('error', () => resolve(-1));
  });
  const proc: Proc = {
    child,
    pid: child.pid ?? -1,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    exited,
    waitFor: async (stream, pattern, ms = 10000) => {
      let ended = false;
      void exited.then(() => (ended = true));
      const found = await eventually(
        // After the exit, one more look: the last output is in by then ('close').
        () => text[stream].match(pattern) ?? (ended ? ('exited' as const) : undefined),
        () => `${stream} ${pattern}: ${show(proc)}`,
        { ms },
      );
      if (found === 'exited') throw new Error(`exited before ${stream} matched ${pattern}: ${show(proc)}`);
      return found;
    },
  };
  defer(() => stop(proc));
  return proc;
}

function show(p: { stdout(): string; stderr(): string }): string {
  return `\n--- stdout:\n${p.stdout()}\n--- stderr:\n${p.stderr()}`;
}

/** Runs argv as PID 1 of a new pid namespace (with its own /proc). */
function inNamespace(argv: string[], env?: NodeJS.ProcessEnv): Proc {
  // --kill-child: if the unshare process dies, the namespace's init gets SIGKILL too.
  return start('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...argv], { env });
}

function status(p: Proc, ms = 15000): Promise<number> {
  return withTimeout(p.exited, ms, `exit of pid ${p.pid}: ${show(p)}`);
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** The flags the launcher gives node: always the young generation's size, and on Node 22.14+ no SIGUSR1. */
const LAUNCHER_FLAGS = ['--disable-sigusr1', '--max-semi-space-size=4'];

/** A node process's command line without the flags the launcher adds. */
function nodeArgv(pid: number): string[] {
  return readProc(pid, 'cmdline')
    .split('\0')
    .filter((a) => a !== '' && !LAUNCHER_FLAGS.includes(a));
}

/**
 * The host PID of the namespace's init once it runs websockify-init (the unshare process's
 * child first runs unshare, then possibly the sh launcher, then execs websockify-init).
 */
async function namespaceInit(unshare: Proc, ms = 10000): Promise<number> {
  const found = await eventually(
    () =>
      childrenOf(unshare.pid).find((pid) => readProc(pid, 'comm').trim() === 'websockify-init') ??
      (unshare.child.exitCode !== null ? ('exited' as const) : undefined),
    () => `websockify-init under unshare pid ${unshare.pid}: ${show(unshare)}`,
    { ms },
  );
  if (found === 'exited') throw new Error(`no websockify-init under unshare pid ${unshare.pid}: ${show(unshare)}`);
  return found;
}

/** The process's PIDs from the outermost namespace inwards ("NSpid:" in /proc/PID/status). */
function nsPids(pid: number): number[] {
  const line = readProc(pid, 'status')
    .split('\n')
    .find((l) => l.startsWith('NSpid:'));
  return line ? line.split(/\s+/).slice(1).map(Number) : [];
}

/** The pid namespace `pid` lives in ("pid:[4026531836]"), or '' once it is gone. */
function pidNamespace(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return '';
  }
}

/** Host PIDs of every process in the pid namespace `ns`. */
function namespaceMembers(ns: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && pidNamespace(Number(d)) === ns)
    .map(Number);
}

async function tmpDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'websockify-pid1-'));
  defer(() => rm(d, { recursive: true, force: true }));
  return d;
}

// ---------------------------------------------------------------------------------------------
// test/fixtures/pid1-orphans.sh leaves four orphans for PID 1 and lists the processes of its
// namespace while they run ("DURING pid state ppid name") and after they ended ("AFTER ...").

const ORPHANS = fileURLToPath(new URL('fixtures/pid1-orphans.sh', import.meta.url));
const CTRL_C = fileURLToPath(new URL('fixtures/pid1-ctrl-c.py', import.meta.url));

interface ProcLine {
  phase: string;
  pid: number;
  state: string;
  ppid: number;
  name: string;
}

function parseListing(stdout: string): ProcLine[] {
  return stdout
    .split('\n')
    .map((l) => /^(DURING|AFTER) (\d+) (\S+) (\d+) (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ phase: m[1]!, pid: Number(m[2]), state: m[3]!, ppid: Number(m[4]), name: m[5]! }));
}

// ---------------------------------------------------------------------------------------------

describe('websockify-init (native/init.c)', () => {
  it('is built by npm install as an executable next to rebind.so', () => {
    expect(statSync(INIT).isFile()).toBe(true);
    expect(() => accessSync(INIT, fsConstants.X_OK)).not.toThrow();
    expect(existsSync(path.join(ROOT, 'build', 'Release', 'rebind.so'))).toBe(true);
  });

  it('exits 2 with a usage message when no program is given', async () => {
    const p = start(INIT, []);
    expect(await status(p)).toBe(2);
    expect(p.stderr()).toMatch(/^websockify-init: no program given\nusage: websockify-init \[--\] PROGRAM/);
    expect(p.stdout()).toBe('');
  });

  it.each([
    [
      'a missing path',
      '/nonexistent/program',
      'websockify-init: cannot run /nonexistent/program: No such file or directory\n',
    ],
    [
      'an unknown command',
      'no-such-command-for-websockify',
      'websockify-init: no-such-command-for-websockify: command not found\n',
    ],
  ])('cannot start %s (%s): exit 127 and one clear line', async (_what, program, message) => {
    const p = start(INIT, ['--', program]);
    expect(await status(p)).toBe(127);
    expect(p.stderr()).toBe(message);
  });

  it('cannot start a file that is not executable: exit 126', async () => {
    const file = path.join(await tmpDir(), 'not-executable');
    await writeFile(file, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    const p = start(INIT, ['--', file]);
    expect(await status(p)).toBe(126);
    expect(p.stderr()).toBe(`websockify-init: cannot run ${file}: Permission denied\n`);
  });

  it('outside a namespace too: runs the program with its arguments, stdio and status, and prints nothing else', async () => {
    const p = start(INIT, ['--', 'sh', '-c', 'echo "out $1"; echo "err $2" >&2; exit 3', 'sh', 'a b', 'c']);
    expect(await status(p)).toBe(3);
    expect(p.stdout()).toBe('out a b\n');
    expect(p.stderr()).toBe('err c\n');
  });

  it('outside a namespace too: passes SIGTERM on and exits with the status it leads to', async () => {
    const p = start(INIT, ['--', 'sh', '-c', 'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done']);
    await p.waitFor('stdout', /ready/);
    process.kill(p.pid, 'SIGTERM');
    expect(await status(p)).toBe(42);
  });

  describeNs('as PID 1 of a pid namespace', () => {
    it('reaps every orphan re-parented to it: no zombie remains', async () => {
      const p = inNamespace([INIT, '--', 'sh', ORPHANS]);
      expect(await status(p, 20000)).toBe(0);
      const lines = parseListing(p.stdout());
      const during = lines.filter((l) => l.phase === 'DURING');
      const after = lines.filter((l) => l.phase === 'AFTER');
      expect(during.find((l) => l.pid === 1)?.name).toBe('websockify-init');
      // The orphans really were handed to PID 1 (else this test would prove nothing)...
      expect(during.filter((l) => l.name === 'sleep' && l.ppid === 1).length).toBeGreaterThanOrEqual(4);
      // ...and all of them are gone, not left as zombies.
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((l) => l.state === 'Z')).toEqual([]);
      expect(after.filter((l) => l.name === 'sleep')).toEqual([]);
    });

    it('control: with node itself as PID 1 the same orphans stay zombies (why the init exists)', async () => {
      const runner = `require('child_process').spawn('sh', [process.argv[1]], { stdio: 'inherit' }).on('exit', (c) => process.exit(c ?? 1))`;
      const p = inNamespace([process.execPath, '-e', runner, ORPHANS]);
      expect(await status(p, 20000)).toBe(0);
      const after = parseListing(p.stdout()).filter((l) => l.phase === 'AFTER');
      expect(after.find((l) => l.pid === 1)?.name).toBe('node');
      expect(after.filter((l) => l.state === 'Z' && l.ppid === 1).length).toBeGreaterThanOrEqual(4);
    });

    it.each([
      ['exit 7', 7],
      ['exit 0', 0],
      ['kill -KILL $$', 137],
      ['kill -TERM $$', 143],
    ])('passes the status of `sh -c %p` on: %p', async (script, code) => {
      const p = inNamespace([INIT, '--', 'sh', '-c', script]);
      expect(await status(p)).toBe(code);
      expect(p.stderr()).toBe('');
    });

    it('exec failure as PID 1: 127 and a message', async () => {
      const p = inNamespace([INIT, '--', '/nonexistent/program']);
      expect(await status(p)).toBe(127);
      expect(p.stderr()).toBe('websockify-init: cannot run /nonexistent/program: No such file or directory\n');
    });

    it('passes SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent to PID 1 on to the program', async () => {
      const signals = ['INT', 'HUP', 'QUIT', 'USR1', 'USR2', 'WINCH'] as const;
      const traps = signals.map((s) => `trap 'echo got-${s}' ${s};`).join(' ');
      const script = `${traps} trap 'echo got-TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done`;
      const p = inNamespace([INIT, '--', 'sh', '-c', script]);
      await p.waitFor('stdout', /ready/);
      const init = await namespaceInit(p);
      expect(nsPids(init).at(-1)).toBe(1);
      for (const s of signals) {
        process.kill(init, `SIG${s}`);
        await p.waitFor('stdout', new RegExp(`got-${s}\\n`));
      }
      process.kill(init, 'SIGTERM');
      expect(await status(p)).toBe(42);
      // Each signal arrived exactly once.
      for (const s of [...signals, 'TERM']) expect(p.stdout().split(`got-${s}\n`).length - 1).toBe(1);
    });

    it('a program that does not catch SIGTERM dies of the forwarded one: 143', async () => {
      const p = inNamespace([INIT, '--', 'sh', '-c', 'echo ready; exec sleep 30']);
      await p.waitFor('stdout', /ready/);
      const init = await namespaceInit(p);
      // Wait for the exec, so that SIGTERM reaches sleep, not the shell.
      await eventually(() => childrenOf(init).some((c) => readProc(c, 'comm').trim() === 'sleep'), 'the exec of sleep');
      process.kill(init, 'SIGTERM');
      expect(await status(p)).toBe(143);
    });
  });

  (existsSync(PYTHON) ? it : it.skip)(
    'Ctrl-C on a terminal reaches the program once, from the terminal, and is not passed on again',
    async () => {
      // A pseudo-terminal whose session leader is websockify-init; the program is in its
      // process group, the terminal's foreground group. ^C makes the kernel signal that group.
      const p = start(PYTHON, [CTRL_C, INIT]);
      const code = await status(p, 45000);
      // Each assertion shows the whole terminal output when it fails.
      const out = p.stdout() + p.stderr();
      expect(out).toMatch(/STATUS 5\n$/);
      expect(out).toMatch(/got-INT/);
      expect(out).not.toMatch(/got-INT[\s\S]*got-INT/);
      expect(out).toContain('websockify-init: signal 2 came from the terminal to the whole group: not passed on');
      expect(out).not.toContain('passing signal 2');
      expect(code).toBe(0);
    },
    60000,
  );
});

describe('bin/websockify (the sh launcher)', () => {
  const BANNER = /Listen on 127\.0\.0\.1:(\d+)/;

  async function echo(): Promise<TestTarget> {
    const t = await echoTarget();
    defer(() => t.close());
    return t;
  }

  async function roundTrip(port: number): Promise<void> {
    const c = await openClient(`ws://127.0.0.1:${port}`, 'binary');
    defer(() => c.ws.terminate());
    c.ws.send(Buffer.from('through the launcher'));
    expect((await c.waitForBytes(20)).toString()).toBe('through the launcher');
  }

  describeNs('as PID 1', () => {
    it('runs node under websockify-init, proxies, and exits 0 on SIGTERM to PID 1', async () => {
      const target = await echo();
      const p = inNamespace([LAUNCHER, '127.0.0.1:0', `127.0.0.1:${target.port}`]);
      const port = Number((await p.waitFor('stderr', BANNER))[1]);
      const init = await namespaceInit(p);
      expect(readProc(init, 'comm')).toBe('websockify-init\n');
      expect(nsPids(init).at(-1)).toBe(1);
      // Its one child is node running bin/websockify.js.
      const kids = childrenOf(init);
      expect(kids).toHaveLength(1);
      const argv = nodeArgv(kids[0]!);
      expect(argv.slice(1)).toEqual([
        path.join(ROOT, 'bin', 'websockify.js'),
        '127.0.0.1:0',
        `127.0.0.1:${target.port}`,
      ]);

      await roundTrip(port);
      process.kill(init, 'SIGTERM');
      expect(await status(p)).toBe(0);
      expect(p.stderr()).toMatch(/SIGTERM received/);
      expect(p.stderr()).not.toMatch(/warning/i);
    });

    it('wrapping a program that leaves orphans: no zombie remains, its exit status is passed on', async () => {
      const port = await unusedPort();
      const p = inNamespace([LAUNCHER, `127.0.0.1:${port}`, '--', 'sh', '-c', 'sh "$0"; exit 7', ORPHANS]);
      expect(await status(p, 20000)).toBe(7);
      const lines = parseListing(p.stdout());
      const during = lines.filter((l) => l.phase === 'DURING');
      const after = lines.filter((l) => l.phase === 'AFTER');
      expect(during.find((l) => l.pid === 1)?.name).toBe('websockify-init');
      expect(during.find((l) => l.name === 'node')?.ppid).toBe(1);
      expect(during.filter((l) => l.name === 'sleep' && l.ppid === 1).length).toBeGreaterThanOrEqual(4);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((l) => l.state === 'Z')).toEqual([]);
      expect(after.filter((l) => l.name === 'sleep')).toEqual([]);
      expect(p.stderr()).toMatch(/Wrapped command exited with status 7/);
    });

    it('wrapping a server that leaves a daemon behind: proxies; SIGTERM to PID 1 ends every process', async () => {
      const port = await unusedPort();
      const server = fileURLToPath(new URL('fixtures/wrap-server.mjs', import.meta.url));
      // One orphan in its own session (beyond the program's process group) and one in the group.
      const script = '(setsid sleep 60 &); (sleep 60 &); exec "$0" "$1" 127.0.0.1 "$2"';
      const p = inNamespace([
        LAUNCHER,
        `127.0.0.1:${port}`,
        '--',
        'sh',
        '-c',
        script,
        process.execPath,
        server,
        `${port}`,
      ]);
      await p.waitFor('stderr', BANNER);
      const init = await namespaceInit(p);
      const c = await openClient(`ws://127.0.0.1:${port}`, 'binary', 10000);
      defer(() => c.ws.terminate());
      expect((await c.waitForBytes(6, 10000)).toString()).toMatch(/^hello /);

      const ns = pidNamespace(init);
      const members = namespaceMembers(ns);
      const names = members.map((pid) => readProc(pid, 'comm').trim());
      expect(names.filter((n) => n === 'sleep')).toHaveLength(2);
      expect(names.filter((n) => n === 'node')).toHaveLength(2); // websockify and the server
      process.kill(init, 'SIGTERM');
      expect(await status(p)).toBe(0); // the server exits 0 on SIGTERM
      await eventually(
        () => namespaceMembers(ns).length === 0,
        () => `namespace empty (${namespaceMembers(ns).join(' ')})`,
      );
      expect(namespaceMembers(ns)).toEqual([]);
    });

    it('SIGUSR1 to PID 1 and to node opens no inspector; the server still serves', async () => {
      const target = await echo();
      const p = inNamespace([LAUNCHER, '127.0.0.1:0', `127.0.0.1:${target.port}`]);
      const port = Number((await p.waitFor('stderr', BANNER))[1]);
      const init = await namespaceInit(p);
      const node = childrenOf(init)[0]!;
      process.kill(init, 'SIGUSR1'); // what `docker kill -s USR1` does: websockify-init passes it on
      process.kill(node, 'SIGUSR1');
      await expectNoInspector(p, node, port);
      process.kill(init, 'SIGTERM');
      expect(await status(p)).toBe(0);
    });

    it('without websockify-init: one warning line, then node runs directly as PID 1', async () => {
      // A copy of the package without build/: the launcher, and the entry point linked back.
      const pkg = await tmpDir();
      await mkdir(path.join(pkg, 'bin'));
      await copyFile(LAUNCHER, path.join(pkg, 'bin', 'websockify'));
      await symlink(path.join(ROOT, 'bin', 'websockify.js'), path.join(pkg, 'bin', 'websockify.js'));
      const p = inNamespace([path.join(pkg, 'bin', 'websockify'), '--version']);
      expect(await status(p)).toBe(0);
      expect(p.stdout()).toBe(`${VERSION}\n`);
      expect(p.stderr()).toBe(
        `websockify: warning: running as PID 1 without ${pkg}/build/Release/websockify-init, so orphaned ` +
          `processes will not be reaped (build it with 'cd ${pkg} && npx node-gyp rebuild', or use an init such as ` +
          `'docker run --init')\n`,
      );
    });
  });

  /**
   * After SIGUSR1 was sent to `pid` (node): an echo through the server still comes back byte for
   * byte (node has handled its signals and events meanwhile), node says nothing about a
   * debugger, and the only port it listens on is the proxy's (the inspector's would be 9229;
   * the check is on node's own sockets, so another process on 9229 cannot hide it).
   */
  async function expectNoInspector(p: Proc, pid: number, port: number): Promise<void> {
    await roundTrip(port);
    expect(p.stderr()).not.toMatch(/debugger|inspector/i);
    expect(listeningPortsOf(pid)).toEqual([port]);
  }

  it('SIGUSR1 opens no inspector (a debugger on 9229 would let any local user run code); still serves', async () => {
    const target = await echo();
    const p = start(LAUNCHER, ['127.0.0.1:0', `127.0.0.1:${target.port}`]);
    const port = Number((await p.waitFor('stderr', BANNER))[1]);
    process.kill(p.pid, 'SIGUSR1');
    await expectNoInspector(p, p.pid, port);
    process.kill(p.pid, 'SIGUSR1'); // and again: nothing changes
    await expectNoInspector(p, p.pid, port);
    process.kill(p.pid, 'SIGTERM');
    expect(await status(p)).toBe(0);
  });

  /**
   * The arguments the launcher gives node, recorded by a node that reports `version` and then
   * runs the real one (Node 20, which does not know --disable-sigusr1: that flag is removed).
   */
  async function launcherArgs(version: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
    const dir = await tmpDir();
    const fake = path.join(dir, 'node');
    const log = path.join(dir, 'args');
    const script = [
      '#!/bin/sh',
      `if [ "$1" = --version ]; then echo '${version}'; exit 0; fi`,
      `printf '%s\\n' "$@" > '${log}'`,
      '[ "$1" = --disable-sigusr1 ] && shift',
      `exec '${process.execPath}' "$@"`,
      '',
    ].join('\n');
    await writeFile(fake, script, { mode: 0o755 });
    const p = start(LAUNCHER, ['--version'], { env: { ...process.env, ...env, NODE: fake } });
    expect(await status(p)).toBe(0);
    expect(p.stdout()).toBe(`${VERSION}\n`);
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  }
  const ENTRY_ARGS = [path.join(ROOT, 'bin', 'websockify.js'), '--version'];

  it.each([
    ['', ['--max-semi-space-size=4']],
    ['--max-semi-space-size=8', []],
    ['--trace-warnings --max_semi_space_size=1', []],
  ])('NODE_OPTIONS %p: the launcher adds %p', async (nodeOptions, added) => {
    expect(await launcherArgs('v20.20.2', { NODE_OPTIONS: nodeOptions })).toEqual([...added, ...ENTRY_ARGS]);
  });

  it.each([
    ['v20.20.2', false],
    ['v22.13.1', false],
    ['v22.14.0', true],
    ['v23.6.0', false],
    ['v23.7.0', true],
    ['v24.0.0', true],
    ['v100.1.2', true],
    ['not a version', false],
  ])('node %s: --disable-sigusr1 is passed to it: %p', async (version, passed) => {
    expect(await launcherArgs(version)).toEqual([
      ...(passed ? ['--disable-sigusr1'] : []),
      '--max-semi-space-size=4',
      ...ENTRY_ARGS,
    ]);
  });

  it('not PID 1: node replaces the shell (same PID), no init', async () => {
    const target = await echo();
    const p = start(LAUNCHER, ['127.0.0.1:0', `127.0.0.1:${target.port}`]);
    const port = Number((await p.waitFor('stderr', BANNER))[1]);
    const argv = nodeArgv(p.pid);
    expect(path.basename(argv[0]!)).toMatch(/^node/);
    expect(argv[1]).toBe(path.join(ROOT, 'bin', 'websockify.js'));
    expect(childrenOf(p.pid)).toEqual([]);
    await roundTrip(port);
    process.kill(p.pid, 'SIGTERM');
    expect(await status(p)).toBe(0);
  });

  it("works through symlinks like npm's global bin links, found on PATH, from any directory", async () => {
    const prefix = await tmpDir();
    await mkdir(path.join(prefix, 'lib', 'node_modules'), { recursive: true });
    await mkdir(path.join(prefix, 'bin'));
    await symlink(ROOT, path.join(prefix, 'lib', 'node_modules', 'websockify'));
    await symlink('../lib/node_modules/websockify/bin/websockify', path.join(prefix, 'bin', 'websockify'));
    await symlink(path.join(prefix, 'bin', 'websockify'), path.join(prefix, 'chained'));
    const env = { ...process.env, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}` };
    for (const [file, args] of [
      ['websockify', ['--version']],
      [path.join(prefix, 'chained'), ['--version']],
      ['/bin/sh', [path.join(prefix, 'bin', 'websockify'), '--version']],
    ] as const) {
      const p = start(file, [...args], { env, cwd: '/' });
      expect(await status(p)).toBe(0);
      expect(p.stdout()).toBe(`${VERSION}\n`);
      expect(p.stderr()).toBe('');
    }
  });

  it('runs the node that $NODE names, else the one on PATH', async () => {
    const dir = await tmpDir();
    const wrapper = path.join(dir, 'my-node');
    await writeFile(wrapper, `#!/bin/sh\necho "my-node was used" >&2\nexec '${process.execPath}' "$@"\n`, {
      mode: 0o755,
    });
    const viaNode = start(LAUNCHER, ['--version'], { env: { ...process.env, NODE: wrapper } });
    expect(await status(viaNode)).toBe(0);
    expect(viaNode.stderr()).toBe('my-node was used\n');
    expect(viaNode.stdout()).toBe(`${VERSION}\n`);

    // NODE that is not an executable file: ignored, node comes from PATH.
    const fallback = start(LAUNCHER, ['--version'], { env: { ...process.env, NODE: '/nonexistent/node' } });
    expect(await status(fallback)).toBe(0);
    expect(fallback.stdout()).toBe(`${VERSION}\n`);
  });

  it('no node at all: exit 127 and a clear message', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/nonexistent' };
    delete env.NODE;
    const p = start('/bin/sh', [LAUNCHER, '--version'], { env });
    expect(await status(p)).toBe(127);
    expect(p.stderr()).toBe('websockify: cannot find node: put it on PATH, or set NODE to its path\n');
  });
});
