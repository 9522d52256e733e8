// The files an operator installs from contrib/, run by the real programs: the systemd units
// checked by `systemd-analyze verify` and the service's command line run under
// `systemd-socket-activate` with the socket's kind of listener (echo byte-exact, reload with
// the unit's ExecReload signal, stop); the inetd.conf line run by the real openbsd-inetd.
// systemd is not PID 1 here, so the units are not started by systemd itself.

import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defer } from './helpers/cleanup.js';
import { runCli } from './helpers/cli.js';
import { childrenOf, isAlive } from './helpers/procfs.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { clientForTest, expectEcho } from './helpers/per-test.js';
import { echoTarget, unusedPort } from './helpers/targets.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONTRIB = path.join(ROOT, 'contrib');
const LAUNCHER = path.join(ROOT, 'bin', 'websockify');
const INSTALLED = '/usr/local/bin/websockify';
const run = promisify(execFile);

async function tmpDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-contrib-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function echoAddress(): Promise<string> {
  const t = await echoTarget();
  defer(() => t.close());
  return `127.0.0.1:${t.port}`;
}

/** `Key=value` lines of a unit or environment file (the last one of each key). */
function settings(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_]+)=(.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

describe('contrib/systemd', () => {
  it('systemd-analyze verify accepts the socket and service units', async () => {
    // The units name the installed command; here it is this checkout's launcher.
    const dir = await tmpDir();
    for (const unit of ['websockify.socket', 'websockify.service']) {
      const text = await readFile(path.join(CONTRIB, 'systemd', unit), 'utf8');
      await writeFile(path.join(dir, unit), text.replaceAll(INSTALLED, LAUNCHER));
    }
    const service = settings(await readFile(path.join(dir, 'websockify.service'), 'utf8'));
    expect(service.get('ExecStart')).toBe(`${LAUNCHER} $WEBSOCKIFY_OPTIONS`);
    expect(service.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    const { stdout, stderr } = await run(
      'systemd-analyze',
      ['verify', '--man=no', path.join(dir, 'websockify.socket'), path.join(dir, 'websockify.service')],
      { timeout: 60000 },
    );
    expect({ stdout, stderr }).toEqual({ stdout: '', stderr: '' });
  });

  it("the service's command line serves the socket from systemd-socket-activate, reloads on HUP, stops on TERM", async () => {
    const socket = settings(await readFile(path.join(CONTRIB, 'systemd', 'websockify.socket'), 'utf8'));
    expect(socket.get('ListenStream')).toBe('6080');
    expect(socket.get('Accept')).toBe('no');
    const service = settings(await readFile(path.join(CONTRIB, 'systemd', 'websockify.service'), 'utf8'));
    const defaults = settings(await readFile(path.join(CONTRIB, 'systemd', 'websockify.default'), 'utf8'));
    const [command, ...args] = service.get('ExecStart')!.split(' ');
    expect(command).toBe(INSTALLED);
    expect(args).toEqual(['$WEBSOCKIFY_OPTIONS']);
    // The shipped options with the target moved to this test's echo server.
    const options = JSON.parse(defaults.get('WEBSOCKIFY_OPTIONS')!) as string;
    expect(options).toBe('127.0.0.1:5900');
    const target = await echoAddress();
    const port = await unusedPort(); // instead of 6080, which may be taken on this machine
    const p = runCli(options.replace('127.0.0.1:5900', target).split(' '), process.env, {
      via: ['systemd-socket-activate', '-l', `127.0.0.1:${port}`, LAUNCHER],
    });
    defer(() => p.kill());
    await p.waitForStderr(/Listening on 127\.0\.0\.1:\d+ as 3\./);
    // websockify starts at the first connection, as under systemd.
    const c = await clientForTest(`ws://127.0.0.1:${port}/`);
    await p.waitForStderr(new RegExp(`\n {2}- Listen on 127\\.0\\.0\\.1:${port} \\(fd 3 from systemd\\)\n`));
    await expectEcho(c, 'through the socket systemd-socket-activate made');
    p.child.kill('SIGHUP'); // ExecReload
    await p.waitForStderr(/SIGHUP received: reopening the log file/);
    await expectEcho(c, 'still open after the reload');
    p.child.kill('SIGTERM'); // systemctl stop
    expect(await withTimeout(p.exited, 10000, 'exit')).toBe(0);
    expect((await c.closed).code).toBe(1001);
  });
});

describe('contrib/inetd/inetd.conf', () => {
  it('run by the real inetd, websockify takes the listening socket and proxies byte-exact', async () => {
    const line = (await readFile(path.join(CONTRIB, 'inetd', 'inetd.conf'), 'utf8'))
      .split('\n')
      .find((l) => l !== '' && !l.startsWith('#'))!;
    const fields = line.split('\t');
    expect(fields.slice(0, 6)).toEqual(['6080', 'stream', 'tcp', 'wait', 'nobody', INSTALLED]);
    expect(fields[6]).toBe('websockify --inetd 127.0.0.1:5900');
    const target = await echoAddress();
    const port = await unusedPort();
    // This checkout instead of the installed command, a free loopback port, root (the checkout
    // may not be readable by nobody), and this test's echo server as the target.
    const conf = [
      `127.0.0.1:${port}`,
      ...fields.slice(1, 4),
      'root',
      LAUNCHER,
      fields[6]!.replace('127.0.0.1:5900', target),
    ].join('\t');
    const dir = await tmpDir();
    await writeFile(path.join(dir, 'inetd.conf'), conf + '\n');
    const inetd = runCli([path.join(dir, 'inetd.conf')], process.env, { via: ['/usr/sbin/inetd', '-d'] });
    defer(async () => {
      for (const child of childrenOf(inetd.child.pid!)) {
        try {
          process.kill(child, 'SIGTERM');
        } catch {
          // already gone (the test stopped it)
        }
      }
      await inetd.kill();
    });
    await inetd.waitForStderr(new RegExp(`ADD: 127\\.0\\.0\\.1:${port} proto=tcp, wait`));
    const c = await clientForTest(`ws://127.0.0.1:${port}/`);
    await expectEcho(c, 'through inetd');
    const [websockify] = childrenOf(inetd.child.pid!);
    expect(websockify).toBeDefined();
    // One process serves every connection (wait): a second client reaches the same one.
    const second = await clientForTest(`ws://127.0.0.1:${port}/`);
    await expectEcho(second, 'second');
    expect(childrenOf(inetd.child.pid!)).toEqual([websockify]);
    process.kill(websockify!, 'SIGTERM');
    await eventually(() => !isAlive(websockify!), 'websockify to stop');
  });
});
