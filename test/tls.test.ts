// TLS on the listen port and toward the target, with certificates made by `openssl` for each
// run: wss://, ws://, https:// and http:// on one port of one CLI process; --ssl-only; client
// certificates; the minimum version checked by `openssl s_client`; certificate rotation on disk;
// --ssl-target with and without --ssl-target-cafile; the handshake deadline; start-up errors.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { ClientOptions } from 'ws';
import { KEY_PASSWORD, livePair, makeTestPki, servedSerial, type TestPki } from './helpers/certs.js';
import { defer } from './helpers/cleanup.js';
import { startCliForTest, runCli, runToExit } from './helpers/cli.js';
import { openWs, rawExchange, type TrackedWs, upgradeRequest } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { echoTarget } from './helpers/targets.js';
import { WORKER_MODES } from './helpers/workers.js';

let pki: TestPki;

beforeAll(async () => {
  pki = await makeTestPki();
}, 60000);
afterAll(() => pki.remove());

async function echoPort(): Promise<number> {
  const target = await echoTarget();
  defer(() => target.close());
  return target.port;
}

/** A client trusting the test CA, optionally presenting a client certificate. */
function trusting(extra: ClientOptions = {}): Promise<ClientOptions> {
  return readFile(pki.ca, 'utf8').then((ca) => ({ ca, ...extra }));
}

async function clientCert(leaf: { cert: string; key: string }): Promise<ClientOptions> {
  return trusting({ cert: await readFile(leaf.cert, 'utf8'), key: await readFile(leaf.key, 'utf8') });
}

/** Opens a WebSocket, checks a byte-exact echo of all 256 byte values, closes it. */
async function echoes(url: string, options: ClientOptions = {}): Promise<void> {
  const client: TrackedWs = await openWs(url, options);
  defer(() => client.ws.terminate());
  const data = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const echoed = new Promise<Buffer>((resolve) => client.ws.once('message', (d: Buffer) => resolve(d)));
  client.ws.send(data);
  expect((await withTimeout(echoed, 10000, 'echo')).equals(data)).toBe(true);
  client.ws.close();
  await withTimeout(client.closed, 5000, 'close');
}

/** A plain GET on http:// or https://; resolves with the status and whether the socket was TLS. */
function get(url: string, ca?: string): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve, reject) => {
      const mod = url.startsWith('https:') ? https : http;
      const req = mod.get(url, { agent: false, ...(ca ? { ca } : {}) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    }),
    10000,
    `GET ${url}`,
  );
}

/** The serial number of the certificate the server presents to a new connection. */
/** Runs `openssl s_client` against the port with stdin closed; its status and output. */
function sClient(port: number, args: string[]): Promise<{ status: number; output: string }> {
  return withTimeout(
    new Promise((resolve) => {
      const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', pki.ca, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('close', (status) => resolve({ status: status ?? -1, output }));
    }),
    20000,
    'openssl s_client',
  );
}

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('TLS and plain on one port (one CLI process)', () => {
    it('serves wss:// and ws://, https:// and http:// on the same port, the key in the cert file', async () => {
      const target = await echoPort();
      const cli = await startCliForTest([
        ...workers,
        '--cert',
        pki.server.combined,
        '127.0.0.1:0',
        `127.0.0.1:${target}`,
      ]);
      expect(cli.stderr()).toContain('\n  - SSL/TLS support\n');
      expect(cli.stderr()).not.toContain('Deny non-SSL/TLS');
      const ca = await readFile(pki.ca, 'utf8');
      await echoes(`wss://127.0.0.1:${cli.port}/websockify`, { ca });
      await echoes(`ws://127.0.0.1:${cli.port}/websockify`);
      // Not upgrades: the plain-HTTP answer (405 without --web), over both.
      expect(await get(`https://127.0.0.1:${cli.port}/`, ca)).toBe(405);
      expect(await get(`http://127.0.0.1:${cli.port}/`)).toBe(405);
      expect(await servedSerial(cli.port, ca)).toBe(pki.server.serial);
    });

    it('--ssl-only closes plain connections without an answer and serves wss://', async () => {
      const target = await echoPort();
      const cli = await startCliForTest([...workers, 
      '--cert', pki.server.cert, '--key', pki.server.key, '--ssl-only', '127.0.0.1:0', `127.0.0.1:${target}`,
    ]); // prettier-ignore
      expect(cli.stderr()).toContain('\n  - SSL/TLS support\n  - Deny non-SSL/TLS connections\n');
      expect(await rawExchange(cli.port, upgradeRequest('/'))).toBe('');
      expect(await rawExchange(cli.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('');
      await cli.waitForStderr(/non-TLS connection refused \(--ssl-only\)/);
      await echoes(`wss://127.0.0.1:${cli.port}/`, await trusting());
    });
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('client certificates (--verify-client --cafile)', () => {
    it('accepts a client certificate signed by the CA and refuses none or one from another CA', async () => {
      const target = await echoPort();
      const cli = await startCliForTest([...workers, 
      '--cert', pki.server.combined, '--verify-client', '--cafile', pki.ca, '127.0.0.1:0', `127.0.0.1:${target}`,
    ]); // prettier-ignore
      const url = `wss://127.0.0.1:${cli.port}/`;
      await echoes(url, await clientCert(pki.client));
      await expect(openWs(url, await trusting())).rejects.toThrow();
      await expect(openWs(url, await clientCert(pki.strangerClient))).rejects.toThrow();
      await cli.waitForStderr(/^2: 127\.0\.0\.1: client certificate refused: no certificate presented$/m);
      await cli.waitForStderr(/^3: 127\.0\.0\.1: client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE$/m);
    });

    it('the request handed on carries the TLS socket: encrypted, with the peer certificate', async () => {
      const target = await echoPort();
      const seen: { encrypted: boolean; cn: unknown }[] = [];
      const { server, port } = await startProxy({
        tls: { cert: pki.server.cert, key: pki.server.key, verifyClient: true, cafile: pki.ca },
        resolveTarget: (req) => {
          const socket = req.socket as tls.TLSSocket;
          seen.push({ encrypted: socket.encrypted === true, cn: socket.getPeerCertificate().subject?.CN });
          return { kind: 'tcp', host: '127.0.0.1', port: target };
        },
      });
      defer(() => server.close());
      await echoes(`wss://127.0.0.1:${port}/`, await clientCert(pki.client));
      expect(seen).toEqual([{ encrypted: true, cn: 'client' }]);
    });
  });
});

describe('minimum TLS version (--ssl-version), checked with openssl s_client', () => {
  it('refuses TLS 1.1 and accepts TLS 1.2 by default', async () => {
    const cli = await startCliForTest(['--cert', pki.server.combined, '127.0.0.1:0', `127.0.0.1:${await echoPort()}`]);
    // SECLEVEL=0 lets the client offer TLS 1.1 at all, so the refusal is the server's.
    const old = await sClient(cli.port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    expect(old.status).not.toBe(0);
    expect(old.output).toMatch(/alert protocol version/);
    const ok = await sClient(cli.port, ['-tls1_2']);
    expect(ok.status).toBe(0);
    expect(ok.output).toMatch(/New, TLSv1\.2, Cipher/);
    expect(ok.output).toMatch(/Verify return code: 0 \(ok\)/);
  });

  it('--ssl-version tlsv1_3 refuses TLS 1.2 and accepts TLS 1.3', async () => {
    const cli = await startCliForTest([
      '--cert', pki.server.combined, '--ssl-version', 'tlsv1_3', '127.0.0.1:0', `127.0.0.1:${await echoPort()}`,
    ]); // prettier-ignore
    const old = await sClient(cli.port, ['-tls1_2']);
    expect(old.status).not.toBe(0);
    expect(old.output).toMatch(/alert protocol version/);
    const ok = await sClient(cli.port, ['-tls1_3']);
    expect(ok.status).toBe(0);
    expect(ok.output).toMatch(/New, TLSv1\.3, Cipher/);
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('certificate rotation', () => {
    it('new connections get the certificate written over the old one; a bad file keeps the old one', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-rotate-'));
      defer(() => rm(dir, { recursive: true, force: true }));
      const { cert, key } = await livePair(pki, dir);
      const cli = await startCliForTest([
        ...workers,
        '--cert',
        cert,
        '--key',
        key,
        '127.0.0.1:0',
        `127.0.0.1:${await echoPort()}`,
      ]);
      const ca = await readFile(pki.ca, 'utf8');
      expect(await servedSerial(cli.port, ca)).toBe(pki.server.serial);

      // A half-written certificate: logged, and the old one stays in use.
      const good = await readFile(pki.server.cert, 'utf8');
      await writeFile(cert, good.slice(0, good.length / 2));
      await cli.waitForStderr(/TLS files changed but cannot be used \(keeping the previous ones\)/, 15000);
      expect(await servedSerial(cli.port, ca)).toBe(pki.server.serial);

      // The new pair, each file replaced by a rename (as most tools do).
      await writeFile(`${key}.new`, await readFile(pki.rotated.key));
      await writeFile(`${cert}.new`, await readFile(pki.rotated.cert));
      await rename(`${key}.new`, key);
      await rename(`${cert}.new`, cert);
      // Each process that serves TLS (each worker) watches the files and says so once.
      const copies = workers.length > 0 ? 2 : 1;
      await eventually(
        () => (cli.stderr().match(/TLS certificate reloaded from/g) ?? []).length >= copies,
        `${copies} reload line(s)`,
        { ms: 15000 },
      );
      expect(await servedSerial(cli.port, ca)).toBe(pki.rotated.serial);
      await echoes(`wss://127.0.0.1:${cli.port}/`, { ca });
    });
  });
});

describe('--ssl-target', () => {
  /** A TLS echo server with the test server certificate; records the SNI name of each client. */
  async function tlsEchoTarget(): Promise<{ port: number; servernames: (string | false | null)[] }> {
    const servernames: (string | false | null)[] = [];
    const server = tls.createServer(
      { cert: await readFile(pki.server.cert), key: await readFile(pki.server.key) },
      (socket) => {
        servernames.push(socket.servername);
        socket.on('error', () => {});
        socket.pipe(socket);
      },
    );
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    defer(() => new Promise((resolve) => server.close(resolve)));
    return { port: (server.address() as net.AddressInfo).port, servernames };
  }

  it('reaches a TLS target signed by a private CA with --ssl-target-cafile, sending SNI', async () => {
    const target = await tlsEchoTarget();
    const cli = await startCliForTest([
      '--ssl-target', '--ssl-target-cafile', pki.ca, '127.0.0.1:0', `localhost:${target.port}`,
    ]); // prettier-ignore
    expect(cli.stderr()).toContain(`to localhost:${target.port} (using SSL)\n`);
    await echoes(`ws://127.0.0.1:${cli.port}/`);
    expect(target.servernames).toEqual(['localhost']);
  });

  it('sends no SNI to an address literal and verifies the address against the certificate', async () => {
    const target = await tlsEchoTarget();
    const cli = await startCliForTest([
      '--ssl-target', '--ssl-target-cafile', pki.ca, '127.0.0.1:0', `127.0.0.1:${target.port}`,
    ]); // prettier-ignore
    await echoes(`ws://127.0.0.1:${cli.port}/`);
    expect(target.servernames).toEqual([false]);
  });

  it('without the CA the target is not trusted: the client is closed with 1011 and the reason logged', async () => {
    const target = await tlsEchoTarget();
    const cli = await startCliForTest(['-v', '--ssl-target', '127.0.0.1:0', `localhost:${target.port}`]);
    const client = await openWs(`ws://127.0.0.1:${cli.port}/`);
    const closed = await withTimeout(client.closed, 10000, 'close');
    expect(closed.code).toBe(1011);
    await cli.waitForStderr(/TLS handshake with the target failed: .*(issuer|self-signed|verify)/i);
  });
});

describe('the first-bytes deadline', () => {
  async function proxy(options: { sslOnly?: boolean } = {}): Promise<number> {
    const { server, port } = await startProxy({
      target: `127.0.0.1:${await echoPort()}`,
      handshakeTimeout: 1,
      tls: { cert: pki.server.combined, sslOnly: options.sslOnly ?? false },
    });
    defer(() => server.close());
    return port;
  }

  /** Connects, sends `bytes`, then waits for the server to close; what came back and how long. */
  function stall(port: number, bytes: Buffer): Promise<{ response: Buffer; elapsed: number }> {
    const started = Date.now();
    return withTimeout(
      new Promise((resolve) => {
        const got: Buffer[] = [];
        const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
        s.on('data', (d) => got.push(d));
        s.on('error', () => {});
        s.on('close', () => resolve({ response: Buffer.concat(got), elapsed: Date.now() - started }));
      }),
      8000,
      'server closing a stalled client',
    );
  }

  it('a client that sends nothing gets 408 on a mixed port and nothing under --ssl-only', async () => {
    const mixed = await stall(await proxy(), Buffer.alloc(0));
    expect(mixed.response.toString('latin1')).toMatch(/^HTTP\/1\.1 408 /);
    expect(mixed.elapsed).toBeGreaterThanOrEqual(900);
    const only = await stall(await proxy({ sslOnly: true }), Buffer.alloc(0));
    expect(only.response.length).toBe(0);
    expect(only.elapsed).toBeGreaterThanOrEqual(900);
  });

  it('a client that starts a TLS handshake and stops is dropped', async () => {
    const r = await stall(await proxy(), Buffer.from([0x16, 0x03, 0x01]));
    expect(r.response.length).toBe(0);
    expect(r.elapsed).toBeGreaterThanOrEqual(900);
  });

  it('plain clients keep working while a silent one waits', async () => {
    const port = await proxy();
    const silent = stall(port, Buffer.alloc(0));
    await echoes(`ws://127.0.0.1:${port}/`);
    await silent;
  });
});

describe('start-up errors', () => {
  const TRY = "\nTry 'websockify --help' for more information.\n";
  const target = '127.0.0.1:5900';

  it('a bad --ssl-version exits 2 naming the flag', async () => {
    const r = await runToExit(['--cert', pki.server.combined, '--ssl-version', 'sslv3', '127.0.0.1:0', target]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `websockify: error: option --ssl-version: expected default, tlsv1_1, tlsv1_2, tlsv1_3, got 'sslv3'${TRY}`,
    );
  });

  it('a missing --cert, --key or --cafile exits 2 naming the flag', async () => {
    const missing = path.join(pki.dir, 'missing.pem');
    for (const [flag, args] of [
      ['--cert', ['--cert', missing]],
      ['--key', ['--cert', pki.server.cert, '--key', missing]],
      ['--cafile', ['--cert', pki.server.combined, '--verify-client', '--cafile', missing]],
      ['--ssl-target-cafile', ['--ssl-target', '--ssl-target-cafile', missing]],
    ] as const) {
      const r = await runToExit([...args, '127.0.0.1:0', target]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`websockify: error: option ${flag}: file '${missing}' not found${TRY}`);
    }
  });

  it('--ssl-only without a certificate exits 2; --ssl-target-cafile needs --ssl-target', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-nocert-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const cli = runCli(['--ssl-only', '127.0.0.1:0', target], process.env, { cwd: dir });
    defer(() => cli.kill());
    expect(await withTimeout(cli.exited, 10000, 'exit')).toBe(2);
    expect(cli.stderr()).toBe(
      `websockify: error: option --ssl-only: SSL only and '${path.join(dir, 'self.pem')}' not found (give --cert FILE)${TRY}`,
    );
    const r = await runToExit(['--ssl-target-cafile', pki.ca, '127.0.0.1:0', target]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`websockify: error: You must use --ssl-target to use --ssl-target-cafile${TRY}`);
  });

  it('a wrong --key-password or a certificate without its key exits 1 with a message, no stack trace', async () => {
    const wrong = await runToExit([
      '--cert', pki.server.cert, '--key', pki.encryptedKey, '--key-password', 'wrong', '127.0.0.1:0', target,
    ]); // prettier-ignore
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^websockify: cannot use the TLS certificate and key in .* \(--key-password\): /);
    expect(wrong.stderr).not.toMatch(/\n\s+at /);
    const none = await runToExit(['--cert', pki.server.cert, '127.0.0.1:0', target]);
    expect(none.status).toBe(1);
    expect(none.stderr).toBe(`websockify: no private key in '${pki.server.cert}' (--cert); give --key\n`);
  });

  it('the right --key-password unlocks an encrypted key', async () => {
    const cli = await startCliForTest([
      '--cert', pki.server.cert, '--key', pki.encryptedKey, '--key-password', KEY_PASSWORD,
      '127.0.0.1:0', `127.0.0.1:${await echoPort()}`,
    ]); // prettier-ignore
    await echoes(`wss://127.0.0.1:${cli.port}/`, await trusting());
  });

  it('self.pem in the start directory turns TLS on; without it TLS is off and TLS flags say so', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-selfpem-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const off = runCli(['--verify-client', '127.0.0.1:0', target], process.env, { cwd: dir });
    defer(() => off.kill());
    await off.waitForStderr(/proxying from/, 10000);
    expect(off.stderr()).toContain('  - No SSL/TLS support (no cert file)\n');
    expect(off.stderr()).toContain(`note: --verify-client has no effect: TLS is off ('${dir}/self.pem' not found`);
    await off.kill();

    await writeFile(path.join(dir, 'self.pem'), await readFile(pki.server.combined));
    const on = runCli(['127.0.0.1:0', `127.0.0.1:${await echoPort()}`], process.env, { cwd: dir });
    defer(() => on.kill());
    const m = await on.waitForStderr(/Listen on 127\.0\.0\.1:(\d+)/, 10000);
    await on.waitForStderr(/proxying from/, 10000);
    expect(on.stderr()).toContain('  - SSL/TLS support\n');
    await echoes(`wss://127.0.0.1:${m[1]}/`, await trusting());
  });
});
