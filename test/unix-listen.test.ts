// --unix-listen and --unix-listen-mode with the real CLI: WebSocket clients over the socket file
// (ws+unix: URLs), its exact mode, removal at exit, stale and live sockets left at the path,
// the lifetime rules, wrap mode with --wrap-port, and the usage errors.

import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type CliProcess, exitStatus, runCli } from './helpers/cli.js';
import { childrenOf, isAlive, listenersOn } from './helpers/procfs.js';
import { withTimeout } from './helpers/wait.js';
import { defer } from './helpers/cleanup.js';
import { clientForTest, echoForTest, expectEcho, expectHello, wrapServerCommand } from './helpers/per-test.js';
import { unusedPort } from './helpers/targets.js';
import { WORKER_MODES } from './helpers/workers.js';

const unixUrl = (sock: string): string => `ws+unix://${sock}:/websockify`;

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-unix-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the CLI (stopped after the test) and waits for the end of its banner. */
async function startCli(args: string[]): Promise<CliProcess> {
  const cli = runCli(args);
  defer(() => cli.kill());
  await cli.waitForStderr(/^ {2}- proxying from .*\n/m, 15000);
  return cli;
}

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('--unix-listen', () => {
    it('serves WebSocket clients on the socket file, mode 0600, and removes it at exit', async () => {
      const sock = path.join(tempDir(), 'ws.sock');
      const cli = await startCli([...workers, '--unix-listen', sock, await echoForTest()]);
      expect(cli.stderr()).toContain(`Listen on unix socket ${sock} (mode 0600)`);
      const stat = statSync(sock);
      expect(stat.isSocket()).toBe(true);
      expect(stat.mode & 0o7777).toBe(0o600);
      const c = await clientForTest(unixUrl(sock));
      await expectEcho(c, 'over a unix socket \u0000\u00ff');
      cli.child.kill('SIGTERM');
      expect((await c.closed).code).toBe(1001);
      expect(await exitStatus(cli, 10000)).toBe(0);
      expect(existsSync(sock)).toBe(false);
    });

    // 0666 is looser than the test's umask (022): the mode is set exactly, whatever the umask.
    it.each([
      ['0660', 0o660],
      ['660', 0o660],
      ['0640', 0o640],
      ['0666', 0o666],
      ['0700', 0o700],
    ])('--unix-listen-mode %s gives the socket mode exactly', async (text, mode) => {
      const sock = path.join(tempDir(), 'ws.sock');
      const cli = await startCli([...workers, '--unix-listen', sock, '--unix-listen-mode', text, await echoForTest()]);
      expect(statSync(sock).mode & 0o7777).toBe(mode);
      await expectEcho(await clientForTest(unixUrl(sock)), 'x');
      await cli.kill();
      expect(existsSync(sock)).toBe(false);
    });

    it('a socket file left by a killed websockify is removed and replaced', async () => {
      const sock = path.join(tempDir(), 'ws.sock');
      const target = await echoForTest();
      const first = await startCli([...workers, '--unix-listen', sock, target]);
      first.child.kill('SIGKILL');
      await exitStatus(first, 10000);
      expect(statSync(sock).isSocket()).toBe(true); // nobody removed it
      const second = await startCli([...workers, '-v', '--unix-listen', sock, target]);
      expect(second.stderr()).toContain(`Removed stale unix socket ${sock} (nothing was listening on it)`);
      await expectEcho(await clientForTest(unixUrl(sock)), 'second');
    });

    it('a socket another process listens on is refused and left alone', async () => {
      const sock = path.join(tempDir(), 'ws.sock');
      // websockify's probe connects and resets at once: ignore that on the owner's side.
      const owner = net.createServer((c) => c.on('error', () => {}).end('owner\n'));
      await new Promise<void>((r) => owner.listen(sock, () => r()));
      defer(() => new Promise<void>((r) => owner.close(() => r())));
      const cli = runCli([...workers, '--unix-listen', sock, await echoForTest()]);
      defer(() => cli.kill());
      expect(await exitStatus(cli, 10000)).toBe(1);
      expect(cli.stderr()).toContain(`Opening socket failed: EADDRINUSE ${sock}: another process is listening on it`);
      const reply = await withTimeout(
        new Promise<string>((resolve) => {
          let got = '';
          net
            .connect(sock)
            .on('data', (d) => (got += d))
            .on('close', () => resolve(got));
        }),
        5000,
        'the owner still answers',
      );
      expect(reply).toBe('owner\n');
    });

    it('a path that is not a socket is refused and left alone', async () => {
      const file = path.join(tempDir(), 'notes.txt');
      writeFileSync(file, 'keep me');
      const cli = runCli([...workers, '--unix-listen', file, await echoForTest()]);
      defer(() => cli.kill());
      expect(await exitStatus(cli, 10000)).toBe(1);
      expect(cli.stderr()).toContain(`Opening socket failed: EEXIST ${file} exists and is not a socket`);
      expect(statSync(file).isFile()).toBe(true);
    });

    it('--run-once: exits 0 after the session and removes the socket', async () => {
      const sock = path.join(tempDir(), 'ws.sock');
      const cli = await startCli([...workers, '--run-once', '--unix-listen', sock, await echoForTest()]);
      const c = await clientForTest(unixUrl(sock));
      await expectEcho(c, 'once');
      c.ws.close();
      expect(await exitStatus(cli, 10000)).toBe(0);
      expect(existsSync(sock)).toBe(false);
    });

    it('--idle-timeout: exits 0 and removes the socket', async () => {
      const sock = path.join(tempDir(), 'ws.sock');
      const cli = await startCli([...workers, '--idle-timeout', '1', '--unix-listen', sock, await echoForTest()]);
      expect(await exitStatus(cli, 10000)).toBe(0);
      expect(cli.stderr()).toContain('listener exit due to --idle-timeout 1');
      expect(existsSync(sock)).toBe(false);
    });
  });
});

describe('--unix-listen with a wrapped program', () => {
  it('the program port comes from --wrap-port; stopping stops the program', async () => {
    const sock = path.join(tempDir(), 'ws.sock');
    const port = await unusedPort();
    const cli = await startCli(['--unix-listen', sock, '--wrap-port', String(port), ...wrapServerCommand(port)]);
    expect(cli.stderr()).toMatch(
      new RegExp(`'node .*wrap-server.mjs 0.0.0.0 ${port}' \\(port ${port}, moved to \\d+\\)`),
    );
    const c = await clientForTest(unixUrl(sock));
    await expectHello(c);
    await expectEcho(c, 'through the program');
    expect(listenersOn(port)).toEqual([]); // the program was moved off its port
    const [program] = childrenOf(cli.child.pid!);
    expect(program).toBeDefined();
    cli.child.kill('SIGTERM');
    expect(await exitStatus(cli, 15000)).toBe(0);
    expect(isAlive(program!)).toBe(false);
    expect(existsSync(sock)).toBe(false);
  });

  it.each([
    ['--unix-listen', ['--unix-listen', 'x.sock']],
    ['--inetd', ['--inetd']],
  ])('with %s and no --wrap-port: exit 2 naming --wrap-port', async (_name, flags) => {
    const cli = runCli([...flags, ...wrapServerCommand(5901)]);
    defer(() => cli.kill());
    expect(await exitStatus(cli, 10000)).toBe(2);
    expect(cli.stderr()).toMatch(/^websockify: error: a wrapped program needs --wrap-port PORT/);
  });
});

describe('usage errors', () => {
  it.each(['999', '8', 'rw-rw----', '01777', '0o600', '0x1b6'])(
    '--unix-listen-mode %s exits 2 naming the flag',
    async (mode) => {
      const cli = runCli(['--unix-listen', 'x.sock', '--unix-listen-mode', mode, '127.0.0.1:5900']);
      defer(() => cli.kill());
      expect(await exitStatus(cli, 10000)).toBe(2);
      expect(cli.stderr()).toContain(`websockify: error: option --unix-listen-mode: expected octal permissions`);
      expect(existsSync('x.sock')).toBe(false);
    },
  );

  it.each([
    [['--unix-listen-mode', '0600', '6080', '127.0.0.1:5900'], 'You must use --unix-listen to use --unix-listen-mode'],
    [['--unix-listen', 'x.sock', '6080', '127.0.0.1:5900'], "Too many arguments: unexpected '127.0.0.1:5900'"],
    [['--unix-listen', 'x.sock', '--inetd', '127.0.0.1:5900'], '--inetd and --unix-listen cannot be used together'],
    [['--unix-listen', 'x.sock'], 'Too few arguments: the target is missing'],
  ])('%j exits 2', async (args, message) => {
    const cli = runCli(args);
    defer(() => cli.kill());
    expect(await exitStatus(cli, 10000)).toBe(2);
    expect(cli.stderr()).toContain(`websockify: error: ${message}`);
  });
});
