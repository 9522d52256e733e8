// The log sinks of the real command: --log-file (appended, same lines as stderr), --syslog over
// UDP to a dgram listener in the test and to local sockets bound by a Debian python3 listener
// (AF_UNIX datagram, and the stream fallback), RFC 5424 and --legacy-syslog headers checked byte
// by byte, the message framing rules, reconnection after the syslog daemon restarts, and bad
// values exiting 2 with the flag named.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { syslogSink } from '../src/index.js';
import { frameSyslogMessage } from '../src/log/syslog-format.js';
import { defer } from './helpers/cleanup.js';
import { cliForTest, startCliForTest, exitStatus, runToExit, untimed } from './helpers/cli.js';
import { openClient } from './helpers/clients.js';
import { withTimeout } from './helpers/wait.js';
import { echoTarget, type TestTarget } from './helpers/targets.js';

const PYTHON = '/usr/bin/python3';
const RFC5424 = /^<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\S+) websockify (\d+) - - (.*)$/s;

let tmp: string;
let target: TestTarget;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'websockify-log-'));
  target = await echoTarget();
});

afterAll(async () => {
  await target.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Collects messages until `count` have arrived (or fails after `ms`). */
class Inbox {
  readonly messages: Buffer[] = [];
  private waiters: (() => void)[] = [];

  add(message: Buffer): void {
    this.messages.push(message);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first message whose text matches. */
  waitFor(pattern: RegExp, ms = 10000): Promise<Buffer> {
    return withTimeout(
      new Promise<Buffer>((resolve) => {
        const check = (): void => {
          const found = this.messages.find((m) => pattern.test(m.toString('latin1')));
          if (found) resolve(found);
          else this.waiters.push(check);
        };
        check();
      }),
      ms,
      `syslog message ${pattern}; got ${this.messages.map((m) => JSON.stringify(m.toString('latin1'))).join(', ')}`,
    );
  }
}

async function udpListener(host = '127.0.0.1'): Promise<{ port: number; inbox: Inbox }> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const inbox = new Inbox();
  socket.on('message', (m) => inbox.add(m));
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  defer(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, inbox };
}

/**
 * A syslog daemon stand-in: Debian's python3 binds an AF_UNIX socket (datagram or stream) at
 * `socketPath` and prints every datagram (or every stream chunk) as a hex line.
 */
async function pythonListener(
  kind: 'dgram' | 'stream',
  socketPath: string,
): Promise<{ inbox: Inbox; stream(): Buffer; child: ChildProcess }> {
  const script = [
    'import os, socket, sys',
    `path = ${JSON.stringify(socketPath)}`,
    'os.path.exists(path) and os.unlink(path)',
    `s = socket.socket(socket.AF_UNIX, socket.SOCK_${kind === 'dgram' ? 'DGRAM' : 'STREAM'})`,
    's.bind(path)',
    kind === 'dgram' ? 'r = s' : 's.listen(1)',
    'print("ready", flush=True)',
    kind === 'dgram' ? '' : 'r, _ = s.accept()',
    'while True:',
    '    data = r.recv(65536)',
    '    if not data: break',
    '    print(data.hex(), flush=True)',
  ].join('\n');
  const child = spawn(PYTHON, ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  defer(async () => {
    child.kill();
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  });
  const inbox = new Inbox();
  const chunks: Buffer[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') ready();
      else {
        chunks.push(Buffer.from(line, 'hex'));
        inbox.add(Buffer.from(line, 'hex'));
      }
    }
  });
  await withTimeout(isReady, 10000, `python ${kind} listener`);
  return { inbox, stream: () => Buffer.concat(chunks), child };
}

describe('--log-file', () => {
  it('appends the banner and per-connection lines: exactly what goes to stderr', async () => {
    const file = path.join(tmp, 'appended.log');
    writeFileSync(file, 'kept from before\n');
    const cli = await startCliForTest(['-v', '--log-file', file, '127.0.0.1:0', `127.0.0.1:${target.port}`]);
    const c = await openClient(`ws://127.0.0.1:${cli.port}/session`);
    c.ws.close(1000);
    await cli.waitForStderr(/closed \/session .* code 1000\n/);
    cli.child.kill('SIGTERM');
    expect(await exitStatus(cli, 10000)).toBe(0);
    const logged = readFileSync(file, 'utf8');
    expect(logged).toBe('kept from before\n' + cli.rawStderr());
    // Every line but the one from before starts with its time, to the millisecond.
    const lines = logged.split('\n').slice(1, -1);
    expect(lines.length).toBeGreaterThan(8);
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ./);
    expect(logged).toContain('WebSocket server settings:\n');
    expect(logged).toMatch(/: 127\.0\.0\.1: WebSocket connection on \/session \(binary\), proxying to /);
    expect(logged).toMatch(/SIGTERM received: closing connections\n$/);
  });

  it('creates the file, resolving a relative path against the start directory', async () => {
    const file = path.join(tmp, 'created.log');
    const relative = path.relative(process.cwd(), file);
    const cli = await startCliForTest(['--log-file', relative, '127.0.0.1:0', `127.0.0.1:${target.port}`]);
    await cli.kill();
    expect(untimed(readFileSync(file, 'utf8'))).toMatch(
      /^WebSocket server settings:\n {2}- Listen on 127\.0\.0\.1:\d+\n/,
    );
  });

  it('a file that cannot be opened exits 2 naming --log-file', async () => {
    const r = await runToExit(['--log-file', path.join(tmp, 'no', 'such', 'dir.log'), '127.0.0.1:0', '127.0.0.1:9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^websockify: error: option --log-file: cannot open .*dir\.log: ENOENT\n/);
  });
});

describe('timestamps and --log-format', () => {
  const TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /;

  it('every stderr line starts with an ISO 8601 UTC time; a one-byte session logs "1 byte"', async () => {
    const before = Date.now();
    const cli = await startCliForTest(['127.0.0.1:0', `127.0.0.1:${target.port}`]);
    const c = await openClient(`ws://127.0.0.1:${cli.port}/one`);
    c.ws.send(Buffer.from('x'));
    expect((await c.waitForBytes(1)).toString()).toBe('x');
    c.ws.close(1000);
    await cli.waitForStderr(/closed \/one/);
    const lines = cli.rawStderr().split('\n').slice(0, -1);
    expect(lines).toHaveLength(6);
    for (const line of lines) {
      const at = Date.parse(TIME.exec(line)![1]!);
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(Date.now());
    }
    expect(untimed(lines[5]!)).toMatch(
      /: closed \/one to \S+: 1 byte to target, 1 byte to client, \d+\.\d{3} s, code 1000$/,
    );
  });

  it('json: one object per line with stable fields, the same on stderr and in the log file', async () => {
    const file = path.join(tmp, 'json.log');
    const cli = cliForTest(['--log-format', 'json', '--log-file', file, '127.0.0.1:0', `127.0.0.1:${target.port}`]);
    const port = Number((await cli.waitForStderr(/"msg":" {2}- proxying from 127\.0\.0\.1:(\d+) /))[1]);
    const c = await openClient(`ws://127.0.0.1:${port}/j?token=a`);
    c.ws.send(Buffer.from('abc'));
    expect((await c.waitForBytes(3)).toString()).toBe('abc');
    c.ws.close(4001);
    await cli.waitForStderr(/"event":"close"/);
    cli.child.kill('SIGTERM');
    expect(await exitStatus(cli, 10000)).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(cli.rawStderr());
    const records = cli
      .rawStderr()
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records[0]).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      msg: 'WebSocket server settings:',
    });
    const t = `127.0.0.1:${target.port}`;
    const open = records.find((r) => r.event === 'open')!;
    expect(Object.keys(open)).toEqual(['time', 'level', 'msg', 'event', 'id', 'peer', 'path', 'target']);
    expect(open).toMatchObject({
      level: 'info',
      event: 'open',
      id: 1,
      peer: '127.0.0.1',
      path: '/j?token=a',
      target: t,
    });
    const close = records.find((r) => r.event === 'close')!;
    expect(Object.keys(close)).toEqual([
      'time',
      'level',
      'msg',
      'event',
      'id',
      'peer',
      'path',
      'target',
      'bytes',
      'duration',
      'code',
    ]);
    expect(close).toMatchObject({ event: 'close', id: 1, bytes: { to_target: 3, to_client: 3 }, code: 4001 });
    expect(typeof close.duration).toBe('number');
    expect(records.at(-1)).toMatchObject({ level: 'info', msg: 'SIGTERM received: closing connections' });
  });

  it('a format other than text or json exits 2 naming --log-format', async () => {
    const r = await runToExit(['--log-format', 'xml', '127.0.0.1:0', '127.0.0.1:9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "websockify: error: option --log-format: expected text or json, got 'xml'\nTry 'websockify --help' for more information.\n",
    );
  });
});

describe('--syslog over UDP', () => {
  it('sends RFC 5424 messages: PRI, version, UTC time, hostname, app name, PID, nil fields', async () => {
    const { port, inbox } = await udpListener();
    const before = Date.now();
    const cli = await startCliForTest([
      '-v',
      '--libserver',
      '--syslog',
      `127.0.0.1:${port}`,
      '127.0.0.1:0',
      '127.0.0.1:9',
    ]);
    const banner = await inbox.waitFor(/WebSocket server settings:$/);
    const m = RFC5424.exec(banner.toString('latin1'))!;
    expect(m).not.toBeNull();
    expect(Number(m[1])).toBe(1 * 8 + 6); // facility user, severity info
    expect(Math.abs(Date.parse(m[2]!) - before)).toBeLessThan(120000);
    expect(m[3]).toBe(os.hostname());
    expect(Number(m[4])).toBe(cli.child.pid);
    expect(m[5]).toBe('WebSocket server settings:');
    expect(banner.toString('latin1')).toBe(
      `<14>1 ${m[2]} ${os.hostname()} websockify ${cli.child.pid} - - WebSocket server settings:`,
    );
    // A warning (the --libserver notice) has severity 4; a debug line (-v) severity 7.
    const warning = await inbox.waitFor(/--libserver has no effect$/);
    expect(RFC5424.exec(warning.toString('latin1'))![1]).toBe(String(1 * 8 + 4));
    await openClient(`ws://127.0.0.1:${cli.port}/dbg`).then((c) => c.ws.terminate());
    const opened = await inbox.waitFor(/WebSocket connection on \/dbg/);
    expect(RFC5424.exec(opened.toString('latin1'))![1]).toBe(String(1 * 8 + 6));
    // Syslog keeps its own time in the header: the message has none.
    expect(RFC5424.exec(opened.toString('latin1'))![5]).toMatch(/^1: 127\.0\.0\.1: WebSocket connection on \/dbg/);
    const debug = await inbox.waitFor(/connecting to target/);
    expect(RFC5424.exec(debug.toString('latin1'))![1]).toBe(String(1 * 8 + 7));
    // Datagrams carry no trailing newline.
    expect(inbox.messages.every((msg) => !msg.toString('latin1').endsWith('\n'))).toBe(true);
  });

  it('--legacy-syslog sends the old <PRI>websockify[PID]: header', async () => {
    const { port, inbox } = await udpListener();
    const cli = await startCliForTest([
      '--syslog',
      `127.0.0.1:${port}`,
      '--legacy-syslog',
      '127.0.0.1:0',
      '127.0.0.1:9',
    ]);
    const banner = await inbox.waitFor(/WebSocket server settings:$/);
    expect(banner.toString('latin1')).toBe(`<14>websockify[${cli.child.pid}]: WebSocket server settings:`);
    const listen = await inbox.waitFor(/Listen on/);
    expect(listen.toString('latin1')).toBe(`<14>websockify[${cli.child.pid}]:   - Listen on 127.0.0.1:${cli.port}`);
  });

  it('reaches an IPv6 server ([::1]:port) and still logs to stderr', async () => {
    const { port, inbox } = await udpListener('::1');
    const cli = await startCliForTest(['--syslog', `[::1]:${port}`, '127.0.0.1:0', '127.0.0.1:9']);
    await inbox.waitFor(/proxying from/);
    expect(cli.stderr()).toMatch(/^WebSocket server settings:\n/);
  });
});

describe('--syslog to a local socket', () => {
  it('sends datagrams to an AF_UNIX datagram socket (as /dev/log is)', async () => {
    const socketPath = path.join(tmp, 'dgram.sock');
    const { inbox } = await pythonListener('dgram', socketPath);
    const cli = await startCliForTest(['--syslog', socketPath, '127.0.0.1:0', '127.0.0.1:9']);
    const banner = (await inbox.waitFor(/WebSocket server settings:$/)).toString('latin1');
    expect(banner).toMatch(RFC5424);
    expect(banner).toBe(
      `<14>1 ${RFC5424.exec(banner)![2]} ${os.hostname()} websockify ${cli.child.pid} - - WebSocket server settings:`,
    );
    await inbox.waitFor(/proxying from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:9$/);
  });

  it('falls back to a stream socket, ending each message with a newline', async () => {
    const socketPath = path.join(tmp, 'stream.sock');
    const listener = await pythonListener('stream', socketPath);
    const cli = await startCliForTest(['--syslog', socketPath, '--legacy-syslog', '127.0.0.1:0', '127.0.0.1:9']);
    await listener.inbox.waitFor(/proxying from .*\n$/);
    const lines = listener.stream().toString('latin1').split('\n');
    expect(lines[0]).toBe(`<14>websockify[${cli.child.pid}]: WebSocket server settings:`);
    expect(lines[1]).toBe(`<14>websockify[${cli.child.pid}]:   - Listen on 127.0.0.1:${cli.port}`);
  });

  it('reconnects when the syslog daemon restarts', async () => {
    const socketPath = path.join(tmp, 'restart.sock');
    const first = await pythonListener('dgram', socketPath);
    const sink = await syslogSink({ destination: { kind: 'unix', path: socketPath } });
    defer(() => sink.close());
    sink('info', 'before restart');
    await first.inbox.waitFor(/before restart$/);
    first.child.kill();
    await new Promise((r) => first.child.once('exit', r));
    const second = await pythonListener('dgram', socketPath); // a new socket at the same path
    sink('error', 'after restart');
    const message = (await second.inbox.waitFor(/after restart$/)).toString('latin1');
    expect(RFC5424.exec(message)![1]).toBe(String(1 * 8 + 3));
  });
});

describe('bad values exit 2 naming the flag', () => {
  it.each([
    [['--syslog', '127.0.0.1:abc'], 'option --syslog: Error parsing syslog port'],
    [['--syslog', '127.0.0.1:70000'], 'option --syslog: Error parsing syslog port'],
    [['--syslog', 'loghost:'], 'option --syslog: Error parsing syslog port'],
    [['--syslog', ':514'], 'option --syslog: Error parsing syslog host'],
    [['--legacy-syslog'], 'You must use --syslog to use --legacy-syslog'],
  ])('%j', async (flags, message) => {
    const r = await runToExit([...flags, '127.0.0.1:0', '127.0.0.1:9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`websockify: error: ${message}\nTry 'websockify --help' for more information.\n`);
  });

  it('a socket path nobody listens on', async () => {
    const missing = path.join(tmp, 'nobody.sock');
    const r = await runToExit(['--syslog', missing, '127.0.0.1:0', '127.0.0.1:9']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^websockify: error: option --syslog: cannot log to ${missing}: ENOENT\n`));
  });
});

describe('message framing', () => {
  const framing = { facility: 'user' as const, legacy: false, hostname: 'h', pid: 42 };
  const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));

  it('RFC 5424 header with whole-second UTC time', () => {
    expect(frameSyslogMessage(framing, 'info', 'hello', at)!.toString('latin1')).toBe(
      '<14>1 2026-01-02T03:04:05Z h websockify 42 - - hello',
    );
  });

  it('facility daemon (as with -D) and each severity', () => {
    const daemon = { ...framing, facility: 'daemon' as const, legacy: true };
    const pri = (level: 'debug' | 'info' | 'warn' | 'error'): string =>
      /^<(\d+)>/.exec(frameSyslogMessage(daemon, level, 'x', at)!.toString('latin1'))![1]!;
    expect([pri('debug'), pri('info'), pri('warn'), pri('error')]).toEqual(['31', '30', '28', '27']);
  });

  it('newlines become spaces; empty lines are not sent', () => {
    expect(frameSyslogMessage({ ...framing, legacy: true }, 'info', 'a\nb\n', at)!.toString('latin1')).toBe(
      '<14>websockify[42]: a b ',
    );
    expect(frameSyslogMessage(framing, 'info', '', at)).toBeUndefined();
  });

  it('text that is not ASCII is UTF-8 after a BOM; a non-ASCII hostname is reduced to ASCII', () => {
    const m = frameSyslogMessage({ ...framing, hostname: 'hôte' }, 'info', 'café', at)!;
    const head = Buffer.from('<14>1 2026-01-02T03:04:05Z hte websockify 42 - - ', 'ascii');
    expect(m.equals(Buffer.concat([head, Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('café', 'utf8')]))).toBe(true);
  });
});

describe('stderr batching', () => {
  /** Runs `body` in a node child that has `log`, the built package's stderr logger; its stderr and exit status. */
  function runLogger(body: string): Promise<{ stderr: string; status: number | null; signal: string | null }> {
    const entry = new URL('../dist/log/logger.js', import.meta.url).href;
    const script = `import { createLogger } from ${JSON.stringify(entry)}; const log = createLogger(); ${body}`;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    return withTimeout(
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (status, signal) => resolve({ stderr, status, signal }));
      }),
      10000,
      'logger child',
    );
  }
  const messages = (stderr: string): string[] =>
    stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\S+ /, ''));

  it('lines logged in one burst go out in one write, in order', async () => {
    // process.stderr.write is counted in the child: three info lines, then the count after the batch.
    const { stderr, status } = await runLogger(
      `let writes = 0; const w = process.stderr.write.bind(process.stderr);
       process.stderr.write = (s, ...a) => { writes++; return w(s, ...a); };
       log.info('one'); log.info('two'); log.info('three');
       setTimeout(() => { process.stderr.write = w; w('writes ' + writes + '\\n'); }, 200);`,
    );
    expect(status).toBe(0);
    expect(
      stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => (l.startsWith('writes') ? l : l.replace(/^\S+ /, ''))),
    ).toEqual(['one', 'two', 'three', 'writes 1']);
  });

  it('process.exit() and an uncaught exception lose no waiting line', async () => {
    const exited = await runLogger(`log.info('before exit'); process.exit(3);`);
    expect(exited.status).toBe(3);
    expect(messages(exited.stderr)).toEqual(['before exit']);
    const crashed = await runLogger(`log.info('before the crash'); setImmediate(() => { throw new Error('boom'); });`);
    expect(crashed.status).toBe(1);
    // The waiting line comes first, then Node's report of the error.
    expect(crashed.stderr.indexOf('before the crash')).toBeGreaterThanOrEqual(0);
    expect(crashed.stderr.indexOf('before the crash')).toBeLessThan(crashed.stderr.indexOf('Error: boom'));
  });

  it('many loggers share one exit listener, and exit writes every waiting line', async () => {
    const { stderr, status } = await runLogger(
      `const before = process.listenerCount('exit');
       const logs = Array.from({ length: 20 }, () => createLogger());
       logs.forEach((l, i) => l.info('line ' + i));
       process.stderr.write('exit listeners added ' + (process.listenerCount('exit') - before) + '\\n');
       process.exit(0);`,
    );
    expect(status).toBe(0);
    expect(stderr).not.toContain('MaxListenersExceededWarning');
    expect(stderr).toContain('exit listeners added 1\n');
    // Every logger's line was still waiting at exit, and each is written once.
    expect(
      messages(stderr)
        .filter((m) => m.startsWith('line '))
        .sort(),
    ).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i}`).sort());
  });

  it('a warning is written at once, after the lines waiting before it', async () => {
    // SIGKILL right after: nothing runs at exit, so only what was written already is there.
    const { stderr, signal } = await runLogger(
      `log.info('waiting'); log.warn('at once'); process.kill(process.pid, 'SIGKILL');`,
    );
    expect(signal).toBe('SIGKILL');
    expect(messages(stderr)).toEqual(['waiting', 'at once']);
  });
});
