// The real `websockify` command in a child process: usage errors and exit status 2, --help and
// --version, every listen and target form (IPv4, IPv6, dual-stack, hostname, unix target), the
// banner, listen failure, -v connection lines, --traffic symbols and --libserver.

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine } from '../src/cli/parse.js';
import { TRAFFIC_LEGEND } from '../src/cli/banner.js';
import { defer } from './helpers/cleanup.js';
import { cliForTest, startCliForTest, exitStatus, isRunning, runToExit } from './helpers/cli.js';
import { openClient, type OpenClient } from './helpers/clients.js';
import { catchesSignal } from './helpers/procfs.js';
import { eventually, sleep, withTimeout } from './helpers/wait.js';
import { echoTarget, type TestTarget } from './helpers/targets.js';

const PKG_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const TRY = "Try 'websockify --help' for more information.\n";
/** What stderr holds after a usage error: the message and the hint, nothing else. */
const usage = (message: string): string => `websockify: error: ${message}\n${TRY}`;

async function echo(listen: { host?: string; path?: string } = {}): Promise<TestTarget> {
  const t = await echoTarget(listen);
  defer(() => t.close());
  return t;
}

async function client(url: string, protocols?: string | string[]): Promise<OpenClient> {
  const c = await openClient(url, protocols);
  defer(() => c.ws.terminate());
  return c;
}

/** Opens a client and checks a byte-exact echo through the proxy. */
async function echoesThrough(url: string, size = 3000): Promise<void> {
  const c = await client(url);
  const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff));
  c.ws.send(data);
  expect((await c.waitForBytes(size)).equals(data)).toBe(true);
  c.ws.close();
  await withTimeout(c.closed, 5000, 'client close');
}

describe('usage errors exit 2 with a message naming the argument', () => {
  const cases: [string, string[], string][] = [
    ['unknown option', ['--bogus', '6080', '127.0.0.1:5900'], 'unknown option --bogus'],
    ['unknown short option', ['-x', '6080', '127.0.0.1:5900'], 'unknown option -x'],
    ['missing value at the end', ['6080', '127.0.0.1:5900', '--heartbeat'], 'option --heartbeat needs a value'],
    ['listen port not a number', ['abc', '127.0.0.1:5900'], "listen port: 'abc' is not a port number"],
    ['listen port out of range', ['70000', '127.0.0.1:5900'], 'listen port: port 70000 is out of range (1-65535)'],
    [
      'host:port listen port not a number',
      ['127.0.0.1:x1', '127.0.0.1:5900'],
      "listen port: 'x1' is not a port number",
    ],
    ['target port out of range', ['6080', '127.0.0.1:65536'], 'target port: port 65536 is out of range (1-65535)'],
    ['target port 0', ['6080', '127.0.0.1:0'], 'target port: port 0 is out of range (1-65535)'],
    ['target port not a number', ['6080', 'localhost:vnc'], "target port: 'vnc' is not a port number"],
    ['missing target', ['6080'], 'Too few arguments: the target is missing'],
    ['missing listen port', [], 'Too few arguments: the listen port is missing'],
    ['too many positionals', ['6080', '127.0.0.1:5900', 'extra'], "Too many arguments: unexpected 'extra'"],
    [
      'target and --unix-target',
      ['--unix-target', '/tmp/x.sock', '6080', '127.0.0.1:5900'],
      'Too many arguments: --unix-target replaces the target',
    ],
    ['target without a colon', ['6080', 'localhost'], "target: 'localhost' is not of the form host:port"],
    ['target without a host', ['6080', ':5900'], "target: ':5900' has no host"],
    [
      '--timeout abc',
      ['--timeout', 'abc', '6080', '127.0.0.1:5900'],
      "option --timeout: expected a number of seconds, got 'abc'",
    ],
    [
      '--idle-timeout -1',
      ['--idle-timeout=-1', '6080', '127.0.0.1:5900'],
      "option --idle-timeout: expected a number of seconds, got '-1'",
    ],
    [
      '--heartbeat empty',
      ['--heartbeat=', '6080', '127.0.0.1:5900'],
      "option --heartbeat: expected a number of seconds, got ''",
    ],
    [
      '--max-message-size 0',
      ['--max-message-size', '0', '6080', '127.0.0.1:5900'],
      "option --max-message-size: expected a positive number of bytes, got '0'",
    ],
    ['-- with no command', ['6080', '--'], 'no command given after --'],
    // The reference's option-dependency rules, with its exact texts.
    [
      '--token-source without --token-plugin',
      ['--token-source', 'x', '6080', '127.0.0.1:5900'],
      'You must use --token-plugin to use --token-source',
    ],
    [
      '--host-token without --token-plugin',
      ['--host-token', '6080', '127.0.0.1:5900'],
      'You must use --token-plugin to use --host-token',
    ],
    [
      '--auth-source without --auth-plugin',
      ['--auth-source', 'x', '6080', '127.0.0.1:5900'],
      'You must use --auth-plugin to use --auth-source',
    ],
    [
      '--web-auth without --auth-plugin',
      ['--web-auth', '--web', '.', '6080', '127.0.0.1:5900'],
      'You must use --auth-plugin to use --web-auth',
    ],
    [
      '--web-auth without --web',
      ['--web-auth', '--auth-plugin', 'BasicHTTPAuth', '6080', '127.0.0.1:5900'],
      'You must use --web to use --web-auth',
    ],
    [
      '--legacy-syslog without --syslog',
      ['--legacy-syslog', '6080', '127.0.0.1:5900'],
      'You must use --syslog to use --legacy-syslog',
    ],
  ];

  // Run side by side: each waits up to 25 s (a loaded machine starts a node process slowly).
  it.concurrent.each(cases)('%s', async (_name, args, message) => {
    const r = await runToExit(args, 25000);
    expect(r.stderr).toBe(usage(message));
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });
});

// An empty path means the start directory to path.resolve: `--web ""` served it (keys and
// tokens kept there included). Every option naming a path refuses an empty value, both spellings:
// all of them through the parser in this process, and two through the real command (exit 2).
describe('an empty value for an option naming a path exits 2 naming the option', () => {
  const options: [string, string][] = [
    ['web', 'DIR'],
    ['cert', 'CERT'],
    ['key', 'KEY'],
    ['cafile', 'FILE'],
    ['ssl-target-cafile', 'FILE'],
    ['unix-target', 'FILE'],
    ['unix-listen', 'FILE'],
    ['record', 'FILE'],
    ['log-file', 'FILE'],
    ['syslog', 'SERVER'],
    ['token-plugin', 'CLASS'],
    ['token-source', 'ARG'],
    ['target-config', 'FILE'],
    ['auth-plugin', 'CLASS'],
  ];
  const cases = options.flatMap(([name, metavar]) => [
    [`--${name}=`, [`--${name}=`], name, metavar] as const,
    [`--${name} ""`, [`--${name}`, ''], name, metavar] as const,
  ]);
  it.each(cases)('%s', async (_label, flag, name, metavar) => {
    const refused = parseCommandLine([...flag, '127.0.0.1:0', '127.0.0.1:5900']);
    await expect(refused).rejects.toThrow(
      expect.objectContaining({
        name: 'UsageError',
        flag: `--${name}`,
        message: `option --${name}: the value is empty (expected ${metavar})`,
      }),
    );
  });

  it.each([[['--web=']], [['--web', '']]])('the command: %j', async (flag) => {
    const r = await runToExit([...flag, '127.0.0.1:0', '127.0.0.1:5900']);
    expect(r.stderr).toBe(usage('option --web: the value is empty (expected DIR)'));
    expect(r.status).toBe(2);
  });
});

// yargs alone would turn `--flag=VALUE` on a boolean option into false (an option accepted and
// ignored); like optparse in the reference, a value given to a flag is an error.
describe('a value given to a flag', () => {
  it.each([['--run-once=yes'], ['--ssl-target=yes'], ['-v=1']])('%s exits 2', async (arg) => {
    const cli = cliForTest([arg, '127.0.0.1:0', '127.0.0.1:5900']);
    expect(await exitStatus(cli, 15000)).toBe(2);
    expect(cli.stderr()).toMatch(/does not take a value/);
  });
});

describe('--help and --version', () => {
  it('--help exits 0, shows the reference usage forms and lists every reference option', async () => {
    const r = await runToExit(['--help']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const help = r.stdout;
    expect(
      help.startsWith(
        [
          'websockify [options] [source_addr:]source_port target_addr:target_port',
          'websockify [options] --token-plugin=CLASS [source_addr:]source_port',
          'websockify [options] --unix-target=FILE [source_addr:]source_port',
          'websockify [options] [source_addr:]source_port -- WRAP_COMMAND_LINE',
        ].join('\n'),
      ),
    ).toBe(true);
    // The long options of the reference, section 1.2, in its order.
    const reference = [
      'prefer-ipv6',
      'unix-target',
      'ssl-target',
      'libserver',
      'cert',
      'key',
      'key-password',
      'ssl-only',
      'verify-client',
      'cafile',
      'ssl-version',
      'ssl-ciphers',
      'web',
      'file-only',
      'web-auth',
      'auth-plugin',
      'auth-source',
      'token-plugin',
      'token-source',
      'host-token',
      'target-config',
      'wrap-mode',
      'verbose',
      'traffic',
      'log-file',
      'syslog',
      'legacy-syslog',
      'record',
      'run-once',
      'timeout',
      'idle-timeout',
      'heartbeat',
      'unix-listen',
      'unix-listen-mode',
      'inetd',
      'daemon',
    ];
    const missing = reference.filter((name) => !new RegExp(`(^|\\s)--${name}(?![\\w-])`, 'm').test(help));
    expect(missing).toEqual([]);
    for (const [short, long] of [
      ['6', 'prefer-ipv6'],
      ['v', 'verbose'],
      ['D', 'daemon'],
      ['h', 'help'],
    ]) {
      expect(help).toMatch(new RegExp(`-${short}, --${long}\\b`));
    }
    expect(help).toMatch(/--version\b/);
  });

  it('-h is --help', async () => {
    const [a, b] = await Promise.all([runToExit(['-h']), runToExit(['--help'])]);
    expect(a.status).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  it("--version prints package.json's version", async () => {
    const r = await runToExit(['--version']);
    expect(r).toEqual({ status: 0, stdout: `${PKG_VERSION}\n`, stderr: '' });
  });
});

describe('listen and target forms', () => {
  it('127.0.0.1:0 prints the banner with the bound port and proxies', async () => {
    const t = await echo();
    const cli = await startCliForTest(['127.0.0.1:0', `127.0.0.1:${t.port}`]);
    await echoesThrough(`ws://127.0.0.1:${cli.port}`);
    expect(cli.stderr().split('\n').slice(0, 4)).toEqual([
      'WebSocket server settings:',
      `  - Listen on 127.0.0.1:${cli.port}`,
      '  - No SSL/TLS support (no cert file)',
      `  - proxying from 127.0.0.1:${cli.port} to 127.0.0.1:${t.port}`,
    ]);
    expect(cli.stdout()).toBe('');
  });

  it('the banner lists the lifetime options that are set', async () => {
    const t = await echo();
    const cli = await startCliForTest([
      '--run-once',
      '--timeout',
      '30',
      '--idle-timeout',
      '20',
      '--heartbeat',
      '10',
      '127.0.0.1:0',
      `127.0.0.1:${t.port}`,
    ]);
    await cli.waitForStderr(/proxying from/);
    expect(cli.stderr()).toBe(
      [
        'WebSocket server settings:',
        `  - Listen on 127.0.0.1:${cli.port}`,
        '  - No SSL/TLS support (no cert file)',
        '  - Exit after the first WebSocket connection (--run-once)',
        '  - Stop accepting after 30 s (--timeout)',
        '  - Exit after 20 s without connections',
        '  - Heartbeat ping every 10 s',
        `  - proxying from 127.0.0.1:${cli.port} to 127.0.0.1:${t.port}`,
        '',
      ].join('\n'),
    );
  });

  it('[::1]:0 listens on IPv6 loopback only', async () => {
    const t = await echo();
    const cli = await startCliForTest(['[::1]:0', `127.0.0.1:${t.port}`]);
    expect(cli.stderr()).toContain(`  - Listen on [::1]:${cli.port}\n`);
    await echoesThrough(`ws://[::1]:${cli.port}`);
    await expect(openClient(`ws://127.0.0.1:${cli.port}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('-6 with a bare port listens dual-stack: 127.0.0.1 and ::1 both reach it', async () => {
    const t = await echo();
    const cli = await startCliForTest(['-6', '0', `127.0.0.1:${t.port}`]);
    expect(cli.stderr()).toContain(`  - Listen on [::]:${cli.port}\n`);
    await echoesThrough(`ws://127.0.0.1:${cli.port}`);
    await echoesThrough(`ws://[::1]:${cli.port}`);
  });

  it('a bare port without -6 listens on IPv4 all interfaces (0.0.0.0)', async () => {
    const t = await echo();
    const cli = await startCliForTest(['0', `127.0.0.1:${t.port}`]);
    expect(cli.stderr()).toContain(`  - Listen on 0.0.0.0:${cli.port}\n`);
    await echoesThrough(`ws://127.0.0.1:${cli.port}`);
  });

  it('localhost:0 resolves the host name and listens on its address', async () => {
    const t = await echo();
    const cli = await startCliForTest(['localhost:0', `127.0.0.1:${t.port}`]);
    expect(cli.stderr()).toContain(`  - Listen on 127.0.0.1:${cli.port}\n`);
    await echoesThrough(`ws://localhost:${cli.port}`);
  });

  it('an IPv6 target in brackets, [::1]:PORT', async () => {
    const t = await echo({ host: '::1' });
    const cli = await startCliForTest(['127.0.0.1:0', `[::1]:${t.port}`]);
    expect(cli.stderr()).toContain(`  - proxying from 127.0.0.1:${cli.port} to [::1]:${t.port}\n`);
    await echoesThrough(`ws://127.0.0.1:${cli.port}`);
    expect(t.connections).toHaveLength(1);
  });

  it('an IPv6 target without brackets is split on the last colon, ::1:PORT', async () => {
    const t = await echo({ host: '::1' });
    const cli = await startCliForTest(['127.0.0.1:0', `::1:${t.port}`]);
    expect(cli.stderr()).toContain(`to [::1]:${t.port}\n`);
    await echoesThrough(`ws://127.0.0.1:${cli.port}`);
    expect(t.connections).toHaveLength(1);
  });

  it('--unix-target connects to a unix socket', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-cli-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'echo.sock');
    const t = await echo({ path: sock });
    const cli = await startCliForTest(['--unix-target', sock, '127.0.0.1:0']);
    expect(cli.stderr()).toContain(`  - proxying from 127.0.0.1:${cli.port} to ${sock}\n`);
    await echoesThrough(`ws://127.0.0.1:${cli.port}`, 70000);
    expect(t.connections).toHaveLength(1);
  });

  it('a port already in use: "Opening socket failed" and exit status 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const r = await runToExit([`127.0.0.1:${port}`, '127.0.0.1:5900']);
      expect(r.stderr).toMatch(/^Opening socket failed: EADDRINUSE .*\n$/);
      expect(r.status).toBe(1);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('an unresolvable listen host exits 2 naming it', async () => {
    const r = await runToExit(['no-such-host.invalid:0', '127.0.0.1:5900']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^websockify: error: cannot resolve listen host 'no-such-host\.invalid': /);
  });
});

describe('logging', () => {
  it('-v prints per-connection lines with peer, path, subprotocol, target, bytes each way and duration', async () => {
    const t = await echo();
    const cli = await startCliForTest(['-v', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
    const c = await client(`ws://127.0.0.1:${cli.port}/some/path?token=x`, ['base64']);
    // base64: 300 raw bytes go to the target; the echo sends 300 raw bytes back (as base64 text).
    const raw = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 13) & 0xff));
    c.ws.send(raw.toString('base64'));
    await eventually(() => Buffer.from(c.messages.join(''), 'base64').length >= 300, 'echo', { ms: 5000 });
    expect(Buffer.from(c.messages.join(''), 'base64').equals(raw)).toBe(true);
    // 7 more raw bytes, then the client closes.
    c.ws.send(Buffer.from('1234567').toString('base64'));
    await eventually(() => Buffer.from(c.messages.join(''), 'base64').length >= 307, 'echo 2', { ms: 5000 });
    c.ws.close(1000);
    await withTimeout(c.closed, 5000, 'close');
    const target = `127.0.0.1:${t.port}`;
    const opened = await cli.waitForStderr(
      /^(\d+): 127\.0\.0\.1: WebSocket connection on \/some\/path\?token=x \(base64\), proxying to (\S+)$/m,
    );
    expect(opened[2]).toBe(target);
    const closed = await cli.waitForStderr(
      /^(\d+): 127\.0\.0\.1: closed \/some\/path\?token=x \(base64\) to (\S+): (\d+) bytes to target, (\d+) bytes to client, (\d+\.\d{3}) s, code (\d+)$/m,
    );
    expect(closed[1]).toBe(opened[1]);
    expect(closed[2]).toBe(target);
    expect(Number(closed[3])).toBe(307);
    expect(Number(closed[4])).toBe(307);
    expect(Number(closed[5])).toBeGreaterThan(0);
    expect(Number(closed[5])).toBeLessThan(10);
    expect(Number(closed[6])).toBe(1000);
  });

  it('without -v: one line when a connection opens and one when it closes, without the details', async () => {
    const t = await echo();
    const cli = await startCliForTest(['127.0.0.1:0', `127.0.0.1:${t.port}`]);
    await echoesThrough(`ws://127.0.0.1:${cli.port}/quiet`);
    const target = `127.0.0.1:${t.port}`;
    await cli.waitForStderr(/closed \/quiet/);
    const lines = cli.stderr().split('\n').slice(4);
    expect(lines[0]).toBe(`1: 127.0.0.1: WebSocket connection on /quiet, proxying to ${target}`);
    expect(lines[1]).toMatch(
      new RegExp(
        `^1: 127\\.0\\.0\\.1: closed /quiet to ${target}: 3000 bytes to target, 3000 bytes to client, \\d+\\.\\d{3} s, code 1005$`,
      ),
    );
    expect(lines.slice(2)).toEqual(['']);
  });

  it('--traffic writes the legend, then the reference symbols to stdout: } > { <', async () => {
    const t = await echo();
    const cli = await startCliForTest(['-v', '--traffic', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
    const c = await client(`ws://127.0.0.1:${cli.port}`);
    // Send once the proxy has its target connection (data queued before that is flushed
    // without a symbol): its debug line says so.
    await cli.waitForStderr(/: connected to target /, 10000);
    c.ws.send(Buffer.from('hello'));
    await c.waitForBytes(5);
    c.ws.send(Buffer.from('again'));
    expect((await c.waitForBytes(10)).toString()).toBe('helloagain');
    await eventually(() => cli.stdout().length >= TRAFFIC_LEGEND.length + 8, 'traffic symbols', { ms: 5000 }).catch(
      (e: Error) => {
        throw new Error(`${e.message}; stdout: ${JSON.stringify(cli.stdout())}`);
      },
    );
    // A negative check (no symbol beyond these) can only wait a moment.
    await sleep(100);
    expect(TRAFFIC_LEGEND.startsWith('Traffic legend:\n  }   a message received from the client\n')).toBe(true);
    expect(cli.stdout()).toBe(`${TRAFFIC_LEGEND}}>{<}>{<`);
  });

  it('--libserver prints its compatibility note and still runs', async () => {
    const t = await echo();
    const cli = await startCliForTest(['--libserver', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
    expect(cli.stderr()).toMatch(
      /^note: this implementation has a single engine; --libserver has no effect\nWebSocket server settings:\n/,
    );
    await echoesThrough(`ws://127.0.0.1:${cli.port}`);
    expect(isRunning(cli)).toBe(true);
  });

  it('--max-message-size: a larger message closes 1009, one of that size passes', async () => {
    const t = await echo();
    const cli = await startCliForTest(['--max-message-size', '1000', '127.0.0.1:0', `127.0.0.1:${t.port}`]);
    const ok = await client(`ws://127.0.0.1:${cli.port}`);
    const data = Buffer.alloc(1000, 7);
    ok.ws.send(data);
    expect((await ok.waitForBytes(1000)).equals(data)).toBe(true);
    const big = await client(`ws://127.0.0.1:${cli.port}`);
    big.ws.send(Buffer.alloc(1001, 7));
    expect((await withTimeout(big.closed, 5000, 'close')).code).toBe(1009);
    expect(t.connections.length).toBe(2);
  });
});

describe('exit status of a normal run', () => {
  it('SIGTERM with no connections exits 0', async () => {
    const t = await echo();
    const cli = await startCliForTest(['127.0.0.1:0', `127.0.0.1:${t.port}`]);
    // The banner is printed a moment before the signal handlers are installed (a race reported
    // separately); wait until the process catches SIGTERM, as this test is about the exit status.
    await eventually(() => catchesSignal(cli.child.pid!, 15), 'a SIGTERM handler');
    cli.child.kill('SIGTERM');
    const status = await exitStatus(cli, 15000);
    expect({ status, stderr: cli.stderr() }).toEqual({
      status: 0,
      stderr: expect.stringContaining('SIGTERM received: closing connections\n'),
    });
  });
});
