// Listening sockets passed in by the caller, as inetd and systemd do: --inetd (fd 0) and
// systemd socket activation (fd 3, LISTEN_PID/LISTEN_FDS). A Python program creates the socket,
// puts it on the fd and execs the sh launcher bin/websockify, which execs node: the PID is kept
// all along, as LISTEN_PID requires. No systemd needed.

import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defer } from './helpers/cleanup.js';
import { type CliProcess, exitStatus, runCli } from './helpers/cli.js';
import { tryConnect } from './helpers/clients.js';
import { childrenOf, listenersOn } from './helpers/procfs.js';
import { clientForTest, echoForTest, expectEcho, expectHello, wrapServerCommand } from './helpers/per-test.js';
import { unusedPort } from './helpers/targets.js';
import { WORKER_MODES } from './helpers/workers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const PASS_SOCKET = path.join(FIXTURES, 'pass-socket.py');
const LAUNCHER = fileURLToPath(new URL('../bin/websockify', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** Wrap mode arguments: the Node test server on `port`, which --wrap-port names. */
const wrapServer = (port: number): string[] => ['--wrap-port', String(port), ...wrapServerCommand(port)];

/** How long start-up may take: a primary and its workers start under a loaded machine too. */
const START_MS = 15000;

type SocketKind = 'tcp' | `unix:${string}` | 'unbound' | 'file';
type Activation = 'none' | 'self' | 'one' | 'other' | 'two';

/**
 * Runs the CLI with a socket of `kind` on `fd` (stopped after the test). Resolves with the
 * process and what the socket is (its TCP port or unix path), printed by the fixture.
 */
async function withPassedSocket(
  fd: number,
  kind: SocketKind,
  activation: Activation,
  args: string[],
  via: string[] = [LAUNCHER],
): Promise<CliProcess & { where: string }> {
  const cli = runCli(args, process.env, { via: [PYTHON, PASS_SOCKET, String(fd), kind, activation, ...via] });
  defer(() => cli.kill());
  const where = await new Promise<string>((resolve, reject) => {
    cli.child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    cli.child.once('exit', () => reject(new Error(`exited early: ${cli.stderr()}`)));
  });
  return Object.assign(cli, { where });
}

/** The environment a process started with, as NAME=value strings. */
function environ(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
}

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('--inetd: fd 0 is a listening socket', () => {
    it('a TCP socket: clients are served on it; SIGTERM exits 0', async () => {
      const cli = await withPassedSocket(0, 'tcp', 'none', [...workers, '--inetd', await echoForTest()]);
      await cli.waitForStderr(/proxying from/, START_MS);
      expect(cli.stderr()).toContain(`Listen on 127.0.0.1:${cli.where} (fd 0 from inetd)`);
      const c = await clientForTest(`ws://127.0.0.1:${cli.where}/`);
      await expectEcho(c, 'inetd \u0000\u0001\u00fe');
      cli.child.kill('SIGTERM');
      expect((await c.closed).code).toBe(1001);
      expect(await exitStatus(cli, 10000)).toBe(0);
    });

    it('a unix socket (the reference assumes TCP)', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-inetd-'));
      defer(() => rmSync(dir, { recursive: true, force: true }));
      const sock = path.join(dir, 'ws.sock');
      const cli = await withPassedSocket(0, `unix:${sock}`, 'none', [...workers, '--inetd', await echoForTest()]);
      await cli.waitForStderr(/proxying from/, START_MS);
      expect(cli.stderr()).toContain(`Listen on unix socket ${sock} (fd 0 from inetd)`);
      await expectEcho(await clientForTest(`ws+unix://${sock}:/`), 'unix inetd');
    });

    it('--run-once ends after one session', async () => {
      const cli = await withPassedSocket(0, 'tcp', 'none', [...workers, '--run-once', '--inetd', await echoForTest()]);
      await cli.waitForStderr(/proxying from/, START_MS);
      const c = await clientForTest(`ws://127.0.0.1:${cli.where}/`);
      await expectEcho(c, 'once');
      c.ws.close();
      expect(await exitStatus(cli, 10000)).toBe(0);
    });

    it.each([
      ['file', 'ENOTSOCK fd 0 is not a socket (it is /dev/null)'],
      ['unbound', 'EINVAL fd 0 is a socket but not a listening TCP or unix stream socket'],
    ] as const)('fd 0 a %s: exit 1 with a clear message', async (kind, message) => {
      const cli = await withPassedSocket(0, kind, 'none', [...workers, '--inetd', '127.0.0.1:5900']);
      expect(await exitStatus(cli, 10000)).toBe(1);
      expect(cli.stderr()).toContain(`Opening socket failed: ${message}`);
    });

    it("a wrapped program gets /dev/null as stdin, not websockify's listening socket", async () => {
      const port = await unusedPort();
      const cli = await withPassedSocket(0, 'tcp', 'none', [...workers, '--inetd', ...wrapServer(port)]);
      await cli.waitForStderr(/Starting 'node/, START_MS);
      const c = await clientForTest(`ws://127.0.0.1:${cli.where}/`);
      await expectHello(c);
      const [program] = childrenOf(cli.child.pid!);
      expect(readlinkSync(`/proc/${program}/fd/0`)).toBe('/dev/null');
      expect(readlinkSync(`/proc/${cli.child.pid}/fd/0`)).toMatch(/^socket:/);
    });
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('systemd socket activation: fd 3, LISTEN_PID and LISTEN_FDS', () => {
    it('LISTEN_PID is our PID: serves fd 3 without a listen argument', async () => {
      const cli = await withPassedSocket(3, 'tcp', 'self', [...workers, await echoForTest()]);
      await cli.waitForStderr(/proxying from/, START_MS);
      expect(cli.stderr()).toContain(`Listen on 127.0.0.1:${cli.where} (fd 3 from systemd: websockify.socket)`);
      await expectEcho(await clientForTest(`ws://127.0.0.1:${cli.where}/`), 'activated');
      cli.child.kill('SIGTERM');
      expect(await exitStatus(cli, 10000)).toBe(0);
    });

    it('--timeout closes the passed socket: new clients are refused, then exit 0', async () => {
      const cli = await withPassedSocket(3, 'tcp', 'self', [...workers, '--timeout', '1', await echoForTest()]);
      await cli.waitForStderr(/listener exit due to --timeout 1/, 10000);
      expect(await exitStatus(cli, 10000)).toBe(0);
      expect(await tryConnect(Number(cli.where))).toBe('ECONNREFUSED');
    });

    it('a listen argument is not bound then (one command line works both ways)', async () => {
      const unused = await unusedPort();
      const cli = await withPassedSocket(3, 'tcp', 'self', [...workers, `127.0.0.1:${unused}`, await echoForTest()]);
      await cli.waitForStderr(/proxying from/, START_MS);
      expect(cli.stderr()).toContain(
        `note: listening on the socket passed by systemd (fd 3), not on 127.0.0.1:${unused}`,
      );
      await expectEcho(await clientForTest(`ws://127.0.0.1:${cli.where}/`), 'activated');
      expect(listenersOn(unused)).toEqual([]);
    });

    it('LISTEN_PID of another process: ignored, the listen argument is bound', async () => {
      const port = await unusedPort();
      const cli = await withPassedSocket(3, 'tcp', 'other', [...workers, `127.0.0.1:${port}`, await echoForTest()]);
      await cli.waitForStderr(/proxying from/, START_MS);
      expect(cli.stderr()).toContain(`Listen on 127.0.0.1:${port}\n`);
      await expectEcho(await clientForTest(`ws://127.0.0.1:${port}/`), 'not activated');
    });

    it('two sockets: exit 2 saying websockify serves one', async () => {
      const cli = await withPassedSocket(3, 'tcp', 'two', [...workers, await echoForTest()]);
      expect(await exitStatus(cli, 10000)).toBe(2);
      expect(cli.stderr()).toContain('systemd passed 2 sockets (LISTEN_FDS=2) but websockify serves exactly one');
    });

    it('-D is refused with a socket from systemd', async () => {
      const cli = await withPassedSocket(3, 'tcp', 'self', [...workers, '-D', await echoForTest()]);
      expect(await exitStatus(cli, 10000)).toBe(2);
      expect(cli.stderr()).toContain('-D/--daemon cannot be used with a socket passed by systemd');
    });

    it('a wrapped program: its port from --wrap-port, and it does not inherit LISTEN_* or fd 3', async () => {
      const port = await unusedPort();
      const cli = await withPassedSocket(3, 'tcp', 'self', wrapServer(port));
      await cli.waitForStderr(/Starting 'node/, START_MS);
      const c = await clientForTest(`ws://127.0.0.1:${cli.where}/`);
      await expectHello(c);
      await expectEcho(c, 'wrapped');
      const [program] = childrenOf(cli.child.pid!);
      expect(environ(program!).filter((v) => v.startsWith('LISTEN_'))).toEqual([]);
      expect(environ(cli.child.pid!)).toContain(`LISTEN_PID=${cli.child.pid}`); // what websockify got
      // fd 3 is close-on-exec: the program holds no descriptor of websockify's listening socket.
      const listening = readlinkSync(`/proc/${cli.child.pid}/fd/3`);
      expect(listening).toMatch(/^socket:/);
      const programFds = readdirSync(`/proc/${program}/fd`).map((fd) => readlinkSync(`/proc/${program}/fd/${fd}`));
      expect(programFds).not.toContain(listening);
    });

    it('a wrapped program with the listen argument naming its port', async () => {
      const port = await unusedPort();
      const cli = await withPassedSocket(3, 'tcp', 'self', [...workers, String(port), ...wrapServerCommand(port)]);
      await cli.waitForStderr(new RegExp(`\\(port ${port}, moved to \\d+\\)`), START_MS);
      const c = await clientForTest(`ws://127.0.0.1:${cli.where}/`);
      await expectHello(c);
    });
  });
});

// Under podman, the sockets are passed to the container's PID 1 with LISTEN_PID=1; as PID 1,
// bin/websockify runs node under websockify-init, which hands LISTEN_PID over to node.
const canUnshare =
  process.platform === 'linux' &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore', timeout: 10000 }).status === 0;
(canUnshare ? describe : describe.skip)('socket activation of websockify as PID 1', () => {
  it('websockify-init passes the socket on to node', async () => {
    const cli = await withPassedSocket(
      3,
      'tcp',
      'one',
      [await echoForTest()],
      ['/usr/bin/unshare', '--pid', '--fork', '--mount-proc', '--kill-child', LAUNCHER],
    );
    await cli.waitForStderr(/proxying from/, 15000);
    expect(cli.stderr()).toContain(`Listen on 127.0.0.1:${cli.where} (fd 3 from systemd)`);
    await expectEcho(await clientForTest(`ws://127.0.0.1:${cli.where}/`), 'pid 1');
  });
});
