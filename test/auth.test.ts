// Auth plugins: BasicHTTPAuth (401 challenge, 403 malformed, constant-time match),
// ExpectOrigin (403 "Invalid Origin"), ClientCertCNAuth over real TLS (https.Server with
// client certificates made by openssl), custom plugin modules, header stripping, the CLI.

import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import {
  attachWebsockify,
  AuthenticationError,
  loadAuthPlugin,
  type AuthPlugin,
  type AuthRequest,
} from '../src/index.js';
import { defer } from './helpers/cleanup.js';
import { runToExit, startCliForTest } from './helpers/cli.js';
import { openClient } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { withTimeout } from './helpers/wait.js';
import { makeTestPki } from './helpers/certs.js';
import { attemptUpgrade, recordingLogger, tempDir } from './helpers/plugins.js';
import { echoTarget } from './helpers/targets.js';
import { WORKER_MODES } from './helpers/workers.js';

const ctx = () => ({ logger: recordingLogger() });

async function authProxy(auth: AuthPlugin) {
  const echo = await echoTarget();
  defer(() => echo.close());
  const logger = recordingLogger();
  const { server, port, url } = await startProxy({ target: `127.0.0.1:${echo.port}`, auth, logger });
  defer(() => server.close());
  return { port, url, logger };
}

const basic = (text: string): string => `Authorization: Basic ${Buffer.from(text).toString('base64')}`;

/** The HTTP status of a wss:// upgrade attempt: 101 when it opened, else the refusal's status. */
function wssUpgradeStatus(url: string, options: WebSocket.ClientOptions, what: string): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, options);
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', reject);
    }),
    10000,
    what,
  );
}

describe('BasicHTTPAuth', () => {
  it('lets the right credentials in; none or wrong ones get 401 with the challenge', async () => {
    const { port, url, logger } = await authProxy(await loadAuthPlugin('BasicHTTPAuth', 'alice:s3cr:et', ctx()));
    const client = await openClient(url, undefined, 5000).catch((e: Error) => e);
    expect(String(client)).toBe('Error: HTTP 401');
    for (const extra of [[], [basic('alice:wrong')], [basic('bob:s3cr:et')], [basic('alice:s3cr:et ')]]) {
      const a = await attemptUpgrade(port, '/', extra);
      expect([a.status, a.reason, a.headers['www-authenticate']]).toEqual([
        401,
        'Unauthorized',
        'Basic realm="Websockify"',
      ]);
    }
    const ok = new WebSocket(url, {
      headers: { Authorization: `Basic ${Buffer.from('alice:s3cr:et').toString('base64')}` },
    });
    await withTimeout(new Promise((r, j) => (ok.once('open', r), ok.once('error', j))), 5000, 'open with credentials');
    ok.close();
    expect(logger.lines.join('\n')).toMatch(/refused upgrade: 401 wrong Basic credentials/);
  });

  it('a malformed header gets 403 and never crashes the server (bad base64, other scheme, no colon)', async () => {
    const { port } = await authProxy(await loadAuthPlugin('BasicHTTPAuth', 'u:p', ctx()));
    for (const header of [
      'Authorization: Basic xxxxx',
      'Authorization: Basic !!!!',
      'Authorization: Basic',
      'Authorization: Bearer abc',
      'Authorization: Digest username="u"',
      basic('nocolon'),
      'Authorization: Basic ' + 'A'.repeat(10000),
    ]) {
      const a = await attemptUpgrade(port, '/', [header]);
      expect([header.slice(0, 40), a.status, a.reason, a.headers['www-authenticate']]).toEqual([
        header.slice(0, 40),
        403,
        'Forbidden',
        undefined,
      ]);
    }
    expect(
      (await attemptUpgrade(port, '/', ['Authorization: basic ' + Buffer.from('u:p').toString('base64')])).status,
    ).toBe(101);
  });

  it('refuses to start without user:password', async () => {
    await expect(loadAuthPlugin('BasicHTTPAuth', undefined, ctx())).rejects.toThrow(
      'authPlugin: BasicHTTPAuth needs authSource user:password',
    );
  });
});

describe('ExpectOrigin', () => {
  it('an exact listed Origin passes; another or none gets 403 "Invalid Origin", logged', async () => {
    const plugin = await loadAuthPlugin('ExpectOrigin', 'https://a.example  http://b.example:8080', ctx());
    const { port, logger } = await authProxy(plugin);
    expect((await attemptUpgrade(port, '/', ['Origin: http://b.example:8080'])).status).toBe(101);
    for (const extra of [
      ['Origin: https://evil.example'],
      [],
      ['Origin: https://a.example/'],
      ['Origin: HTTPS://A.EXAMPLE'],
    ]) {
      const a = await attemptUpgrade(port, '/', extra);
      expect([a.status, a.reason]).toEqual([403, 'Invalid Origin']);
    }
    expect(logger.lines.join('\n')).toContain(
      `403 Invalid Origin Header: Expected one of ["https://a.example","http://b.example:8080"], got "https://evil.example"`,
    );
  });
});

describe('headers with server-side meaning are stripped before plugins see them', () => {
  it('ssl_*, ssl-*, x-ssl-*, x-client-cert* never reach the plugin; a plain connection has no CN', async () => {
    const seen: AuthRequest[] = [];
    const { port } = await authProxy({ authenticate: (r) => void seen.push(r) });
    const a = await attemptUpgrade(port, '/p?token=1', [
      'SSL_CLIENT_S_DN_CN: admin',
      'SSL-Client-Verify: SUCCESS',
      'X-SSL-Client-CN: admin',
      'X-Client-Cert: forged',
      'X-Forwarded-Client-Cert: forged',
      'X-Other: kept',
    ]);
    expect(a.status).toBe(101);
    expect(Object.keys(seen[0]!.headers).filter((h) => /ssl|cert/.test(h))).toEqual([]);
    expect(seen[0]).toMatchObject({
      method: 'GET',
      url: '/p?token=1',
      clientCertCN: undefined,
      remoteAddress: '127.0.0.1',
    });
    expect(seen[0]!.headers['x-other']).toBe('kept');
    expect(seen[0]!.target).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
  });

  it('a plugin throwing a plain error gives 500; an error with a status property is a refusal', async () => {
    const { port, logger } = await authProxy({
      authenticate: ({ url }) => {
        if (url === '/crash') throw new Error('plugin bug');
        if (url === '/teapot')
          throw Object.assign(new Error('no coffee'), { status: 418, headers: { 'X-Why': 'tea' } });
        if (url === '/typed')
          throw new AuthenticationError({ status: 429, message: 'slow down', headers: { 'Retry-After': '5' } });
      },
    });
    const crash = await attemptUpgrade(port, '/crash');
    expect([crash.status, crash.body]).toEqual([500, 'Authentication failed\n']);
    expect(logger.lines.join('\n')).toMatch(/refused upgrade: 500 auth plugin failed: plugin bug/);
    const teapot = await attemptUpgrade(port, '/teapot');
    expect([teapot.status, teapot.body, teapot.headers['x-why']]).toEqual([418, 'no coffee\n', 'tea']);
    const typed = await attemptUpgrade(port, '/typed');
    expect([typed.status, typed.body, typed.headers['retry-after']]).toEqual([429, 'slow down\n', '5']);
  });
});

describe('ClientCertCNAuth over real TLS (attachWebsockify on an https.Server)', () => {
  function makeCertificates(dir: string): void {
    const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test CA');
    for (const name of ['server', 'alice', 'mallory']) {
      run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      run(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
      );
    }
    // Claims to be alice but is signed by nobody the server trusts.
    run('req', '-x509', ...ec, '-keyout', 'fake.key', '-out', 'fake.pem', '-days', '2', '-subj', '/CN=alice');
  }

  it('a verified certificate with a listed CN passes; another CN, an unverified one or none gets 403', async () => {
    const dir = tempDir();
    makeCertificates(dir);
    const read = (f: string): Buffer => readFileSync(path.join(dir, f));
    const echo = await echoTarget();
    defer(() => echo.close());
    const server = https.createServer({
      key: read('server.key'),
      cert: read('server.pem'),
      ca: read('ca.pem'),
      requestCert: true,
      rejectUnauthorized: false, // let unverified clients reach the plugin, which must refuse them
    });
    const logger = recordingLogger();
    const proxy = attachWebsockify(server, {
      target: `127.0.0.1:${echo.port}`,
      auth: await loadAuthPlugin('ClientCertCNAuth', 'alice bob', ctx()),
      logger,
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    defer(async () => {
      await proxy.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const url = `wss://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    const attempt = (who?: string): Promise<number> =>
      wssUpgradeStatus(
        url,
        {
          ca: read('ca.pem'),
          rejectUnauthorized: false,
          ...(who ? { cert: read(`${who}.pem`), key: read(`${who}.key`) } : {}),
        },
        `TLS upgrade as ${who}`,
      );
    expect(await attempt('alice')).toBe(101);
    expect(await attempt('mallory')).toBe(403);
    expect(await attempt('fake')).toBe(403);
    expect(await attempt(undefined)).toBe(403);
    const log = logger.lines.join('\n');
    expect(log).toMatch(/403 client certificate CN "mallory" is not allowed/);
    expect(log).toMatch(/403 no verified TLS client certificate/);
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('the command line', () => {
    it('--auth-plugin BasicHTTPAuth with a token plugin: token first, then auth', async () => {
      const dir = tempDir();
      const echo = await echoTarget();
      defer(() => echo.close());
      writeFileSync(path.join(dir, 't.cfg'), `ok: 127.0.0.1:${echo.port}\n`);
      const cli = await startCliForTest(
        [
          ...workers,
          '--token-plugin',
          'TokenFile',
          '--token-source',
          't.cfg',
          '--auth-plugin',
          'BasicHTTPAuth',
          '--auth-source',
          'u:p',
          '127.0.0.1:0',
        ],
        { cwd: dir },
      );
      expect((await attemptUpgrade(cli.port, '/?token=nope')).status).toBe(404);
      expect((await attemptUpgrade(cli.port, '/?token=ok')).status).toBe(401);
      expect((await attemptUpgrade(cli.port, '/?token=ok', [basic('u:p')])).status).toBe(101);
    });

    it('ClientCertCNAuth with --verify-client: the CN of the verified client certificate decides', async () => {
      const pki = await makeTestPki();
      defer(() => pki.remove());
      const echo = await echoTarget();
      defer(() => echo.close());
      const tlsArgs = ['--cert', pki.server.combined, '--verify-client', '--cafile', pki.ca, '--auth-plugin'];
      const start = (allowed: string) =>
        startCliForTest([
          ...workers,
          ...tlsArgs,
          'ClientCertCNAuth',
          '--auth-source',
          allowed,
          '127.0.0.1:0',
          `127.0.0.1:${echo.port}`,
        ]);
      const upgrade = (port: number): Promise<number> =>
        wssUpgradeStatus(
          `wss://127.0.0.1:${port}/`,
          { ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) },
          'TLS upgrade with a client certificate',
        );
      expect(await upgrade((await start('someone client')).port)).toBe(101);
      expect(await upgrade((await start('someone else')).port)).toBe(403);
    });

    it('loads a custom auth plugin module given as a path (the documented example)', async () => {
      const echo = await echoTarget();
      defer(() => echo.close());
      const example = path.resolve('examples/auth-plugin.js');
      const cli = await startCliForTest([
        ...workers,
        '--auth-plugin',
        example,
        '--auth-source',
        '10.0.0.0/8 127.0.0.1',
        '127.0.0.1:0',
        `127.0.0.1:${echo.port}`,
      ]);
      expect((await attemptUpgrade(cli.port, '/')).status).toBe(101);
      const refused = await startCliForTest([
        ...workers,
        '--auth-plugin',
        example,
        '--auth-source',
        '10.0.0.1',
        '127.0.0.1:0',
        `127.0.0.1:${echo.port}`,
      ]);
      expect((await attemptUpgrade(refused.port, '/')).status).toBe(403);
    });

    it.each([
      [
        ['--auth-plugin', 'Nope', '6080', '127.0.0.1:5900'],
        /--auth-plugin: unknown plugin 'Nope' \(built-in: BasicHTTPAuth, ExpectOrigin, ClientCertCNAuth;/,
      ],
      [['--auth-plugin', 'ExpectOrigin', '6080', '127.0.0.1:5900'], /--auth-plugin: ExpectOrigin needs --auth-source/],
    ])('%j exits 2', async (args, message) => {
      const r = await runToExit(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  });
});
