// Wrapping a program: the real CLI runs real servers (Node and Python) under rebind.so and
// proxies to their moved port; exit, ignore and respawn modes; shutdown leaves nothing behind.

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, startCliForTest } from './helpers/cli.js';
import { openClient } from './helpers/clients.js';
import { childrenOf, isAlive, listenersOn, liveGroupMembers, processesWithArgs } from './helpers/procfs.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { defer } from './helpers/cleanup.js';
import { unusedPort } from './helpers/targets.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const NODE_SERVER = path.join(FIXTURES, 'wrap-server.mjs');
const PY_SERVER = path.join(FIXTURES, 'rebind-server.py');

/** Opens a client, sends `text`, and returns everything received until `until` matches. */
async function converse(port: number, text: string, until: RegExp): Promise<string> {
  const c = await openClient(`ws://127.0.0.1:${port}/`);
  c.ws.send(Buffer.from(text));
  await eventually(
    () => until.test(c.bytes().toString()),
    () => `reply matching ${until}`,
    { ms: 10000 },
  );
  const got = c.bytes().toString();
  c.ws.close();
  await c.closed;
  return got;
}

describe('a wrapped server is moved off the public port', () => {
  const cases: [string, string[], string][] = [
    ['node 0.0.0.0', ['node', NODE_SERVER, '0.0.0.0'], '127.0.0.1'],
    ['node 127.0.0.1', ['node', NODE_SERVER, '127.0.0.1'], '127.0.0.1'],
    ['node ::', ['node', NODE_SERVER, '::'], '::1'],
    ['node ::1', ['node', NODE_SERVER, '::1'], '::1'],
    ['node dual-stack ::', ['node', NODE_SERVER, 'dual'], '::1'],
    ['python 0.0.0.0', ['/usr/bin/python3', PY_SERVER, 'PORT', '0.0.0.0'], '127.0.0.1'],
    ['python 127.0.0.1', ['/usr/bin/python3', PY_SERVER, 'PORT', '127.0.0.1'], '127.0.0.1'],
    ['python ::', ['/usr/bin/python3', PY_SERVER, 'PORT', '::/v6only'], '::1'],
    ['python ::1', ['/usr/bin/python3', PY_SERVER, 'PORT', '::1'], '::1'],
    ['python dual-stack ::', ['/usr/bin/python3', PY_SERVER, 'PORT', '::/dual'], '::1'],
  ];
  it.each(cases)('%s', async (_name, command, movedTo) => {
    const port = await unusedPort();
    // The Node fixture takes HOST PORT; the Python one PORT SPEC.
    const argv = command.includes(NODE_SERVER)
      ? [...command, String(port)]
      : command.map((a) => (a === 'PORT' ? String(port) : a));
    const cli = await startCliForTest(['-v', `127.0.0.1:${port}`, '--', ...argv]);
    const moved = Number((await cli.waitForStderr(/moved to (\d+)/))[1]);
    await eventually(() => listenersOn(moved).length > 0, 'the program to listen', { ms: 10000 });
    // Only websockify is on the public port; the program is on loopback at the moved port.
    expect(listenersOn(port)).toEqual(['127.0.0.1']);
    expect(listenersOn(moved)).toEqual([movedTo]);
    const reply = await converse(cli.port, 'ping', /ping/);
    expect(reply).toContain('ping');
  });

  it('--wrap-port moves the port the program binds when it differs from the listen port', async () => {
    const [listen, programPort] = [await unusedPort(), await unusedPort()];
    const cli = await startCliForTest([
      `127.0.0.1:${listen}`,
      '--wrap-port',
      String(programPort),
      '--',
      'node',
      NODE_SERVER,
      '0.0.0.0',
      String(programPort),
    ]);
    const moved = Number((await cli.waitForStderr(/moved to (\d+)/))[1]);
    await eventually(() => listenersOn(moved).length > 0, 'the program to listen', { ms: 10000 });
    expect(listenersOn(programPort)).toEqual([]);
    expect(await converse(cli.port, 'x', /hello \d+\n/)).toMatch(/^hello \d+\n/);
  });
});

describe('--wrap-mode', () => {
  it('exit (default): websockify exits with the program status', async () => {
    const port = await unusedPort();
    const cli = runCli([`127.0.0.1:${port}`, '--', 'sh', '-c', 'sleep 0.3; exit 7']);
    defer(() => cli.kill());
    expect(await withTimeout(cli.exited, 10000, 'exit')).toBe(7);
    expect(cli.stderr()).toContain('Wrapped command exited with status 7');
  });

  it('exit: a program killed by SIGKILL makes websockify exit 137', async () => {
    const port = await unusedPort();
    const cli = runCli([`127.0.0.1:${port}`, '--', 'sh', '-c', 'sleep 0.3; kill -9 $$']);
    defer(() => cli.kill());
    expect(await withTimeout(cli.exited, 10000, 'exit')).toBe(137);
  });

  it('exit: open clients are closed when the program ends', async () => {
    const port = await unusedPort();
    const cli = await startCliForTest([`127.0.0.1:${port}`, '--', 'node', NODE_SERVER, '0.0.0.0', String(port)]);
    const c = await openClient(`ws://127.0.0.1:${cli.port}/`);
    await c.waitForBytes(6);
    const [programPid] = childrenOf(cli.child.pid!);
    process.kill(programPid!, 'SIGTERM'); // the fixture exits 0 on SIGTERM
    expect((await withTimeout(c.closed, 10000, 'client close')).code).toBeGreaterThanOrEqual(1000);
    expect(await withTimeout(cli.exited, 10000, 'exit')).toBe(0);
  });

  it('ignore: a program that daemonizes keeps being proxied', async () => {
    const port = await unusedPort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-daemon-'));
    const pidfile = path.join(dir, 'pid');
    defer(() => rmSync(dir, { recursive: true, force: true }));
    defer(() => {
      try {
        process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    });
    const cli = await startCliForTest([
      `127.0.0.1:${port}`,
      '--wrap-mode=ignore',
      '--',
      path.join(FIXTURES, 'wrap-daemon.sh'),
      String(port),
      pidfile,
    ]);
    await cli.waitForStderr(/exited \(or daemonized\) with status 0; continuing/, 10000);
    expect(await converse(cli.port, '', /daemon says hi/)).toBe('daemon says hi\n');
    expect(await converse(cli.port, '', /daemon says hi/)).toBe('daemon says hi\n');
    expect(cli.child.exitCode).toBeNull();
    // The daemon left the process group (setsid); stopping websockify still stops it.
    const daemonPid = Number(readFileSync(pidfile, 'utf8'));
    expect(isAlive(daemonPid)).toBe(true);
    cli.child.kill('SIGTERM');
    await withTimeout(cli.exited, 10000, 'websockify exit');
    expect(cli.stderr()).toContain('Stopping 1 process(es) the wrapped command left running');
    await eventually(() => !isAlive(daemonPid), 'the daemon to end', { ms: 5000 });
  });

  it('respawn: a program serving one connection then exiting serves three clients in a row', async () => {
    const port = await unusedPort();
    const cli = await startCliForTest([
      `127.0.0.1:${port}`,
      '--wrap-mode=respawn',
      '--',
      'node',
      NODE_SERVER,
      '0.0.0.0',
      String(port),
      '--once',
    ]);
    const pids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const reply = await converse(cli.port, `client ${i}`, new RegExp(`client ${i}`));
      pids.add(/hello (\d+)/.exec(reply)![1]!);
    }
    expect(pids.size).toBe(3); // three different program processes
    expect(cli.stderr().match(/respawning/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('respawn: a program that crashes at once is rate-limited, never busy-looped', async () => {
    const port = await unusedPort();
    const cli = await startCliForTest([`127.0.0.1:${port}`, '--wrap-mode=respawn', '--', 'sh', '-c', 'exit 3']);
    await cli.waitForStderr(/respawning too fast, next start in (\d+\.\d) s/, 5000);
    await new Promise((r) => setTimeout(r, 2500));
    // The reference's rule: three quick starts, then the mean of the last three must be 10 s old.
    expect(cli.stderr().match(/^Starting /gm)?.length).toBe(3);
  });

  it('rejects an unknown mode with exit status 2', async () => {
    const cli = runCli(['6080', '--wrap-mode=sometimes', '--', 'true']);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain("option --wrap-mode: expected exit, ignore or respawn, got 'sometimes'");
  });
});

describe('bad input', () => {
  it('a command that does not exist: clear message, exit 127', async () => {
    const cli = runCli([`127.0.0.1:${await unusedPort()}`, '--', 'no-such-program-anywhere']);
    expect(await cli.exited).toBe(127);
    expect(cli.stderr()).toContain('no-such-program-anywhere: command not found');
    expect(cli.stderr()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a file that is not executable: clear message, exit 126', async () => {
    const cli = runCli([`127.0.0.1:${await unusedPort()}`, '--', path.join(FIXTURES, 'rebind-server.py')]);
    expect(await cli.exited).toBe(126);
    expect(cli.stderr()).toContain('not an executable file');
  });

  it('the public port taken: clear message, non-zero exit, program never started', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    defer(() => new Promise<void>((r) => blocker.close(() => r())));
    const { port } = blocker.address() as net.AddressInfo;
    const cli = runCli([`127.0.0.1:${port}`, '--', 'sh', '-c', 'echo STARTED >&2; sleep 5']);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toContain('Opening socket failed: EADDRINUSE');
    expect(cli.stderr()).not.toContain('STARTED');
  });

  it('a program that never binds its port gets a warning naming the likely causes', async () => {
    const port = await unusedPort();
    const cli = await startCliForTest([`127.0.0.1:${port}`, '--', 'sleep', '30']);
    const m = await cli.waitForStderr(/has not bound port (\d+).*static binary or a Go program.*--wrap-port/s, 10000);
    expect(Number(m[1])).toBe(port);
  });

  it('a listen port of 0 needs --wrap-port', async () => {
    const cli = runCli(['127.0.0.1:0', '--', 'true']);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain('a wrapped program needs a fixed listen port, or --wrap-port');
  });
});

describe('shutdown', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s leaves no wrapped process behind', async (signal) => {
    const port = await unusedPort();
    // The program starts a helper child of its own, in its process group.
    const cli = await startCliForTest([
      `127.0.0.1:${port}`,
      '--',
      'sh',
      '-c',
      `sleep 300 & exec node ${NODE_SERVER} 0.0.0.0 ${port}`,
    ]);
    await converse(cli.port, 'x', /hello/);
    const [programPid] = childrenOf(cli.child.pid!);
    expect(programPid).toBeDefined();
    const group = programPid!; // the program leads its own process group
    expect(liveGroupMembers(group).length).toBe(2);
    cli.child.kill(signal);
    await withTimeout(cli.exited, 15000, 'websockify exit');
    expect(liveGroupMembers(group)).toEqual([]);
    expect(isAlive(programPid!)).toBe(false);
  });

  it('a wrapped program does not outlive websockify even when websockify is killed with SIGKILL', async () => {
    const port = await unusedPort();
    const cli = await startCliForTest([`127.0.0.1:${port}`, '--', 'node', NODE_SERVER, '0.0.0.0', String(port)]);
    await converse(cli.port, 'x', /hello/);
    const [programPid] = childrenOf(cli.child.pid!);
    cli.child.kill('SIGKILL');
    await cli.exited;
    await eventually(() => !isAlive(programPid!), 'the program to end', { ms: 5000 });
  });

  /** The wrap id in the environment of `pid` (every process of the tree carries it). */
  function wrapIdOf(pid: number): string {
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    return environ.find((v) => v.startsWith('WEBSOCKIFY_WRAP_ID='))!.slice('WEBSOCKIFY_WRAP_ID='.length);
  }

  /**
   * Wraps `sh -c SCRIPT` (which must start `sleep N`), waits for that sleep, kills websockify
   * with `signal`, and checks through /proc that no process of the tree, nor the watchdog, is left.
   */
  async function nothingLeftAfter(signal: NodeJS.Signals, script: (n: number) => string): Promise<void> {
    const port = await unusedPort();
    const n = 100000 + Math.floor(Math.random() * 800000); // a unique `sleep N` to find
    const cli = await startCliForTest([`127.0.0.1:${port}`, '--', 'sh', '-c', script(n)]);
    await eventually(
      () => processesWithArgs(['sleep', String(n)]).length > 0,
      () => `sleep ${n} to start`,
      { ms: 10000 },
    );
    const tree = [...new Set([...processesWithArgs(['sleep', String(n)]), ...childrenOf(cli.child.pid!)])];
    defer(() => tree.forEach((pid) => isAlive(pid) && process.kill(pid, 'SIGKILL')));
    const id = wrapIdOf(tree[0]!);
    cli.child.kill(signal);
    await withTimeout(cli.exited, 15000, 'websockify exit');
    // SIGTERM, then SIGKILL after the 5 s grace.
    await eventually(
      () => tree.every((pid) => !isAlive(pid)) && processesWithArgs(['sleep', String(n)]).length === 0,
      () => `the wrapped tree to end: alive ${tree.filter(isAlive).join(' ')}`,
      { ms: 15000 },
    );
    await eventually(() => processesWithArgs(['--watchdog', id]).length === 0, 'the watchdog to exit', { ms: 10000 });
  }

  it('SIGKILL of websockify: a program that ignores SIGTERM is killed after the grace period', async () => {
    await nothingLeftAfter('SIGKILL', (n) => `trap '' TERM; exec sleep ${n}`);
  });

  it('SIGKILL of websockify: a grandchild started through sh -c is stopped too', async () => {
    await nothingLeftAfter('SIGKILL', (n) => `sleep ${n}; true`);
  });

  it('a normal stop leaves neither the tree nor the watchdog running', async () => {
    await nothingLeftAfter('SIGTERM', (n) => `sleep ${n} & sleep ${n}; wait`);
  });
});

describe('watchdog fallback', () => {
  it('a websockify-init that refuses --watchdog is reported, and the program keeps the parent-death signal', async () => {
    const { WrapSupervisor } = await import('../src/wrap/supervisor.js');
    const { locateRebindLibrary } = await import('../src/wrap/rebind-library.js');
    const { createLogger } = await import('../src/log/logger.js');
    const lines: string[] = [];
    const supervisor = new WrapSupervisor({
      command: ['sleep', '60'],
      mode: 'ignore',
      programPort: await unusedPort(),
      movedPort: await unusedPort(),
      rebindLibrary: await locateRebindLibrary(),
      logger: createLogger({ sinks: [(level, line) => lines.push(`${level}: ${line}`)] }),
      // Stands in for a websockify-init built before --watchdog existed: it exits with status 1.
      init: '/bin/false',
      graceMs: 500,
    });
    const started = new Promise<number>((resolve) => supervisor.once('start', resolve));
    await supervisor.start();
    const pid = await started;
    try {
      expect(
        lines.some((l) =>
          l.startsWith('warn: no watchdog for the wrapped program (/bin/false --watchdog exited with status 1)'),
        ),
      ).toBe(true);
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      expect(environ).toContain(`REBIND_PARENT_PID=${process.pid}`);
    } finally {
      await supervisor.stop();
    }
  });
});
