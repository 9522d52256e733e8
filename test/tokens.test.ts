// Token files and directories (TokenFile, ReadOnlyTokenFile, TokenFileName,
// UnixDomainSocketDirectory): the reference's grammar, live edits, unix targets, hostile
// tokens, where the token is read from, the refusal statuses, and the CLI options.

import { describe, expect, it } from '@jest/globals';
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadTokenPlugin, type TargetSpec, type TokenPlugin } from '../src/index.js';
import { parseTokenLines } from '../src/targets/plugins/token-file.js';
import { defer } from './helpers/cleanup.js';
import { runToExit, startCliForTest } from './helpers/cli.js';
import { openClient } from './helpers/clients.js';
import { attemptUpgrade, recordingLogger, tempDir, tokenProxy } from './helpers/plugins.js';
import { echoTarget } from './helpers/targets.js';
import { WORKER_MODES } from './helpers/workers.js';

const ctx = () => ({ logger: recordingLogger() });

function parse(text: string): { targets: Map<string, TargetSpec>; log: string[] } {
  const logger = recordingLogger();
  const targets = new Map<string, TargetSpec>();
  parseTokenLines(text, '/etc/tokens.cfg', targets, logger);
  return { targets, log: logger.lines };
}

describe('token file grammar (the reference: split on a colon plus one whitespace character)', () => {
  it.each<[string, string, TargetSpec]>([
    ['token: host:port', 'vnc1: 10.0.0.5:5901\n', { kind: 'tcp', host: '10.0.0.5', port: 5901 }],
    ['a tab after the colon', 'vnc1:\t10.0.0.5:5901\n', { kind: 'tcp', host: '10.0.0.5', port: 5901 }],
    ['spaces around the target', 'vnc1:   example.org:5900   \n', { kind: 'tcp', host: 'example.org', port: 5900 }],
    ['IPv6 without brackets (last-colon split)', 'v6: ::1:5900\n', { kind: 'tcp', host: '::1', port: 5900 }],
    ['IPv6 with brackets (ours)', 'v6: [::1]:5900\n', { kind: 'tcp', host: '::1', port: 5900 }],
    ['a unix socket', 'sock: unix_socket:/run/vnc.sock\n', { kind: 'unix', path: '/run/vnc.sock' }],
    ['a unix socket path with colons', 'sock: unix_socket:/run/a:b.sock\n', { kind: 'unix', path: '/run/a:b.sock' }],
    ['no final newline', 'vnc1: h:1', { kind: 'tcp', host: 'h', port: 1 }],
    ['CRLF line ends', 'vnc1: h:2\r\n', { kind: 'tcp', host: 'h', port: 2 }],
  ])('%s', (_name, text, target) => {
    const { targets, log } = parse(text);
    expect([...targets.values()]).toEqual([target]);
    expect(log).toEqual([]);
  });

  it('keeps the token verbatim, leading spaces included', () => {
    const { targets } = parse('  spaced: h:1\n');
    expect([...targets.keys()]).toEqual(['  spaced']);
  });

  it('skips comments and blank lines without a message; a later duplicate wins', () => {
    const { targets, log } = parse('# comment: h:9\n\n   \nt: h:1\nt: h:2\n');
    expect(targets).toEqual(new Map([['t', { kind: 'tcp', host: 'h', port: 2 }]]));
    expect(log).toEqual([]);
  });

  it('logs each bad line with its file and line number and keeps the good ones', () => {
    const text = ['ok: h:1', 'token:host:5900', 'a: b: c', 'noport: host', 'badport: h:99999', 'ok2: h:2'].join('\n');
    const { targets, log } = parse(text);
    expect([...targets.keys()]).toEqual(['ok', 'ok2']);
    expect(log).toEqual([2, 3, 4, 5].map((n) => `Syntax error in /etc/tokens.cfg on line ${n}`));
  });
});

describe('TokenFile and ReadOnlyTokenFile', () => {
  it('reads every regular file of a directory (sorted, later files override)', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'a.cfg'), 'one: h:1\nboth: h:10\n');
    writeFileSync(path.join(dir, 'b.cfg'), 'two: h:2\nboth: h:20\n');
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'c.cfg'), 'three: h:3\n');
    const plugin = await loadTokenPlugin('TokenFile', dir, ctx());
    expect(await plugin.lookup('one')).toEqual({ kind: 'tcp', host: 'h', port: 1 });
    expect(await plugin.lookup('two')).toEqual({ kind: 'tcp', host: 'h', port: 2 });
    expect(await plugin.lookup('both')).toEqual({ kind: 'tcp', host: 'h', port: 20 });
    expect(await plugin.lookup('three')).toBeUndefined();
  });

  it('TokenFile picks up an edit at once; ReadOnlyTokenFile keeps what it read first', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'tokens.cfg');
    writeFileSync(file, 'old: h:1\n');
    const live = await loadTokenPlugin('TokenFile', file, ctx());
    const frozen = await loadTokenPlugin('ReadOnlyTokenFile', file, ctx());
    expect(await live.lookup('old')).toEqual({ kind: 'tcp', host: 'h', port: 1 });
    expect(await frozen.lookup('old')).toEqual({ kind: 'tcp', host: 'h', port: 1 });
    appendFileSync(file, 'new: h:2\n');
    expect(await live.lookup('new')).toEqual({ kind: 'tcp', host: 'h', port: 2 });
    expect(await frozen.lookup('new')).toBeUndefined();
    writeFileSync(file, 'old: h:3\n'); // rewritten: a changed target, and 'new' gone
    expect(await live.lookup('old')).toEqual({ kind: 'tcp', host: 'h', port: 3 });
    expect(await live.lookup('new')).toBeUndefined();
    expect(await frozen.lookup('old')).toEqual({ kind: 'tcp', host: 'h', port: 1 });
  });

  it('proxies to a unix socket target named in the file', async () => {
    const dir = tempDir();
    const sock = path.join(dir, 'echo.sock');
    const echo = await echoTarget({ path: sock });
    defer(() => echo.close());
    const file = path.join(dir, 'tokens.cfg');
    writeFileSync(file, `u: unix_socket:${sock}\n`);
    const { url } = await tokenProxy(await loadTokenPlugin('TokenFile', file, ctx()));
    const client = await openClient(`${url}/any/path?token=u`);
    client.ws.send(Buffer.from('over unix'));
    expect((await client.waitForBytes(9)).toString()).toBe('over unix');
    client.ws.close();
  });
});

describe('refusals and where the token comes from', () => {
  async function fileProxy(text: string, hostToken = false) {
    const dir = tempDir();
    writeFileSync(path.join(dir, 't.cfg'), text);
    return tokenProxy(await loadTokenPlugin('TokenFile', path.join(dir, 't.cfg'), ctx()), { hostToken });
  }

  it('proxies a known token on any path, URL-decoded, first non-empty value winning', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const { url } = await fileProxy(`a b/c: 127.0.0.1:${echo.port}\n`);
    for (const p of ['/?token=a+b%2Fc', '/websockify?token=&token=a%20b/c&token=zzz', '/x/y?foo=1&token=a+b%2Fc']) {
      const client = await openClient(url + p);
      client.ws.send(Buffer.from('hi'));
      expect((await client.waitForBytes(2)).toString()).toBe('hi');
      client.ws.close();
    }
  });

  it('missing token: 400 "Token not present"; unknown token: 404 naming it; both logged', async () => {
    const { port, logger } = await fileProxy('a: 127.0.0.1:1\n');
    const missing = await attemptUpgrade(port, '/websockify');
    expect([missing.status, missing.reason, missing.body]).toEqual([400, 'Bad Request', 'Token not present\n']);
    const empty = await attemptUpgrade(port, '/?token=');
    expect(empty.status).toBe(400);
    const unknown = await attemptUpgrade(port, '/?token=nope');
    expect([unknown.status, unknown.reason, unknown.body]).toEqual([404, 'Not Found', "Token 'nope' not found\n"]);
    expect(logger.lines).toEqual([
      expect.stringMatching(/^\d+: 127\.0\.0\.1: refused upgrade: 400 Token not present$/),
      expect.stringMatching(/^\d+: 127\.0\.0\.1: refused upgrade: 400 Token not present$/),
      expect.stringMatching(/^\d+: 127\.0\.0\.1: refused upgrade: 404 Token 'nope' not found$/),
    ]);
  });

  it('hostile tokens are unknown tokens: 404, escaped and shortened in the log, the server unharmed', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const { port, url, logger } = await fileProxy(`good: 127.0.0.1:${echo.port}\n`);
    const tokens = ['../x', '../../etc/passwd', 'x'.repeat(8000), 'a%00b', '%2e%2e%2fx', 'a%0d%0aSet-Cookie:%20x'];
    for (const t of tokens) expect((await attemptUpgrade(port, `/?token=${t}`)).status).toBe(404);
    expect(logger.lines.some((l) => l.includes("Token 'a\\u0000b' not found"))).toBe(true);
    expect(logger.lines.some((l) => l.includes("Token 'a\\r\\nSet-Cookie: x' not found"))).toBe(true);
    expect(Math.max(...logger.lines.map((l) => l.length))).toBeLessThan(200);
    const client = await openClient(`${url}/?token=good`);
    client.ws.close();
  });

  it('--host-token: the Host header without its port; an IPv6 literal without brackets', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const { port } = await fileProxy(`vnc1.example: 127.0.0.1:${echo.port}\n::1: 127.0.0.1:${echo.port}\n`, true);
    for (const host of ['vnc1.example:6080', 'vnc1.example', '[::1]:6080', '[::1]']) {
      const answer = await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () =>
          s.write(
            `GET /?token=ignored HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
          ),
        );
        s.once('data', (d) => {
          resolve(d.toString('latin1').split('\r\n')[0]!);
          s.destroy();
        });
        s.on('error', reject);
      });
      expect([host, answer]).toEqual([host, 'HTTP/1.1 101 Switching Protocols']);
    }
    const other = await attemptUpgrade(port, '/?token=vnc1.example', ['X-Unused: 1']);
    expect(other.status).toBe(404); // Host is 127.0.0.1, the query is not read
  });

  it('a plugin that throws gives 502, one that hangs 504; both logged, the server keeps serving', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const plugin: TokenPlugin = {
      lookup: (token) => {
        if (token === 'boom') throw new Error('database on fire');
        if (token === 'slow') return new Promise(() => {});
        if (token === 'junk') return { kind: 'tcp', host: 'h', port: 0 } as TargetSpec;
        return { kind: 'tcp', host: '127.0.0.1', port: echo.port };
      },
    };
    const { port, url, logger } = await tokenProxy(plugin, { timeoutMs: 300 });
    const boom = await attemptUpgrade(port, '/?token=boom');
    expect([boom.status, boom.body]).toEqual([502, 'Token lookup failed\n']);
    const slow = await attemptUpgrade(port, '/?token=slow');
    expect([slow.status, slow.body]).toEqual([504, 'Token lookup timed out\n']);
    expect((await attemptUpgrade(port, '/?token=junk')).status).toBe(502);
    expect(logger.lines.join('\n')).toMatch(/refused upgrade: 502 Token 'boom': lookup failed: database on fire/);
    expect(logger.lines.join('\n')).toMatch(/refused upgrade: 504 Token 'slow': lookup timed out/);
    expect(logger.lines.join('\n')).toMatch(/refused upgrade: 502 Token 'junk': the plugin returned .*not a target/);
    const client = await openClient(`${url}/?token=fine`);
    client.ws.close();
  });
});

describe('TokenFileName and UnixDomainSocketDirectory stay inside their directory', () => {
  it('TokenFileName reads the file named by the token; paths in the token never leave the directory', async () => {
    const root = tempDir();
    const dir = path.join(root, 'tokens');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'vnc1'), '10.0.0.1:5901\n');
    writeFileSync(path.join(dir, 'v6'), '[::1]:5902');
    writeFileSync(path.join(root, 'secret'), '10.9.9.9:22\n');
    const plugin = await loadTokenPlugin('TokenFileName', dir, ctx());
    expect(await plugin.lookup('vnc1')).toEqual({ kind: 'tcp', host: '10.0.0.1', port: 5901 });
    expect(await plugin.lookup('v6')).toEqual({ kind: 'tcp', host: '::1', port: 5902 });
    expect(await plugin.lookup('x/vnc1')).toEqual({ kind: 'tcp', host: '10.0.0.1', port: 5901 }); // basename, as the reference
    for (const t of ['../secret', '..', '.', '', 'a\0b', 'x'.repeat(5000), 'missing']) {
      expect(await plugin.lookup(t)).toBeUndefined();
    }
  });

  it('TokenFileName refuses to start without a directory (exit 2)', async () => {
    const r = await runToExit(['--token-plugin', 'TokenFileName', '--token-source', '/nonexistent/dir', '127.0.0.1:0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^websockify: error: --token-plugin: TokenFileName: token source '\/nonexistent\/dir' is not a directory\n/,
    );
  });

  it('UnixDomainSocketDirectory: sockets only, never `..` or a symlink out of the directory', async () => {
    const root = tempDir();
    const dir = path.join(root, 'socks');
    mkdirSync(dir);
    const inside = await echoTarget({ path: path.join(dir, 'vm1') });
    const outside = await echoTarget({ path: path.join(root, 'other.sock') });
    defer(() => inside.close());
    defer(() => outside.close());
    writeFileSync(path.join(dir, 'plain'), 'not a socket');
    symlinkSync(path.join(root, 'other.sock'), path.join(dir, 'escape'));
    const plugin = await loadTokenPlugin('UnixDomainSocketDirectory', dir, ctx());
    expect(await plugin.lookup('vm1')).toEqual({ kind: 'unix', path: path.join(dir, 'vm1') });
    for (const t of ['../other.sock', 'escape', 'plain', '..', 'a\0b', 'nope', 'x'.repeat(5000)]) {
      expect([t.slice(0, 20), await plugin.lookup(t)]).toEqual([t.slice(0, 20), undefined]);
    }
    const { url } = await tokenProxy(plugin);
    const client = await openClient(`${url}/?token=vm1`);
    client.ws.send(Buffer.from('vm'));
    expect((await client.waitForBytes(2)).toString()).toBe('vm');
    client.ws.close();
  });
});

describe('custom token plugins', () => {
  it('loads the documented example module by path', async () => {
    const plugin = await loadTokenPlugin(path.resolve('examples/token-plugin.js'), '6000', ctx());
    expect(await plugin.lookup('3')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6003 });
    expect(await plugin.lookup('../x')).toBeUndefined();
    await expect(loadTokenPlugin('./examples/token-plugin.js', 'abc', ctx())).rejects.toThrow(
      "tokenPlugin: --token-source must be a base port, got 'abc'",
    );
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('the command line', () => {
    it('a relative --token-source resolves against the start directory; bad lines are logged; 404 logged', async () => {
      const dir = tempDir();
      const echo = await echoTarget();
      defer(() => echo.close());
      writeFileSync(path.join(dir, 'tokens.cfg'), `ok: 127.0.0.1:${echo.port}\nbroken line\n`);
      const cli = await startCliForTest(
        [...workers, '--token-plugin', 'TokenFile', '--token-source', 'tokens.cfg', '127.0.0.1:0'],
        {
          cwd: dir,
        },
      );
      await cli.waitForStderr(/proxying from 127\.0\.0\.1:\d+ to targets generated by TokenFile/);
      const client = await openClient(`ws://127.0.0.1:${cli.port}/?token=ok`);
      client.ws.close();
      expect((await attemptUpgrade(cli.port, '/?token=other')).status).toBe(404);
      await cli.waitForStderr(/Syntax error in .*tokens\.cfg on line 2/);
      await cli.waitForStderr(/refused upgrade: 404 Token 'other' not found/);
    });

    it('--target-config FILE is TokenFile with FILE; with --host-token', async () => {
      const dir = tempDir();
      const echo = await echoTarget();
      defer(() => echo.close());
      writeFileSync(path.join(dir, 'targets.cfg'), `127.0.0.1: 127.0.0.1:${echo.port}\n`);
      const cli = await startCliForTest([...workers, '--target-config', 'targets.cfg', '--host-token', '127.0.0.1:0'], {
        cwd: dir,
      });
      const client = await openClient(`ws://127.0.0.1:${cli.port}/`);
      client.ws.close();
    });

    it.each([
      [
        ['--token-plugin', 'TokenFile', '--token-source', 't', '6080', '127.0.0.1:5900'],
        /Too many arguments: a token plugin replaces the target/,
      ],
      [
        ['--token-plugin', 'TokenFile', '--unix-target', '/x', '6080'],
        /--unix-target cannot be used with --token-plugin/,
      ],
      [['--target-config', 't', '--token-plugin', 'TokenFile', '6080'], /--target-config is a shorthand/],
      [['--token-plugin', 'TokenFile', '6080'], /--token-plugin: TokenFile needs --token-source/],
      [
        ['--token-plugin', 'NoSuchPlugin', '6080'],
        /--token-plugin: unknown plugin 'NoSuchPlugin' \(built-in: TokenFile, /,
      ],
      [['--token-plugin', './missing-plugin.js', '6080'], /--token-plugin: cannot load '.\/missing-plugin.js'/],
    ])('%j exits 2', async (args, message) => {
      const r = await runToExit(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  });
});
