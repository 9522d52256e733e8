// attachWebsockify with a path on an application's own http server: upgrades on other paths
// are answered (400) when the application has no 'upgrade' listener of its own, and left to it
// when it has one; either way no socket is left open. Upgrades still resolving their target are
// dropped by close(); unix-socket clients get a real peer label; resolvers may answer with any
// thenable, and one that throws at once refuses the upgrade. Real servers, raw requests.

import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { attachWebsockify, UpgradeRefused, type TargetResolver, type TargetSpec } from '../src/index.js';
import { openClient, rawExchange, upgradeRequest } from './helpers/clients.js';
import { defer } from './helpers/cleanup.js';
import { recordingLogger, tempDir } from './helpers/plugins.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { echoTarget } from './helpers/targets.js';

/** An app server with websockify attached on /ws, listening on loopback; closed after the test. */
async function mounted(appUpgrade?: (req: http.IncomingMessage, socket: import('node:stream').Duplex) => void) {
  const target = await echoTarget();
  defer(() => target.close());
  const app = http.createServer((_req, res) => res.end('app page'));
  if (appUpgrade) app.on('upgrade', appUpgrade);
  const attached = attachWebsockify(app, { path: '/ws', target: `127.0.0.1:${target.port}` });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
  defer(() => {
    app.closeAllConnections(); // sockets a broken version would leave open must not hang teardown
    return new Promise<void>((r) => app.close(() => r()));
  });
  defer(() => attached.close());
  const { port } = app.address() as { port: number };
  const openConnections = (): Promise<number> => new Promise((r) => app.getConnections((_e, n) => r(n)));
  return { app, port, target, openConnections };
}

/** Waits (bounded) until the server holds no connection; returns how many it still holds. */
async function drained(openConnections: () => Promise<number>): Promise<number> {
  await eventually(async () => (await openConnections()) === 0, 'no connection left', { ms: 5000 }).catch(() => {});
  return openConnections();
}

async function echoesOnWs(port: number): Promise<void> {
  const c = await openClient(`ws://127.0.0.1:${port}/ws?x=1`);
  const data = randomBytes(100);
  c.ws.send(data);
  expect((await c.waitForBytes(100)).equals(data)).toBe(true);
  c.ws.terminate();
}

describe('attachWebsockify({ path }): upgrades on other paths', () => {
  it('get 400 when the app has no upgrade listener, and no socket stays open', async () => {
    const { port, target, openConnections } = await mounted();
    for (const urlPath of ['/', '/other', '/ws/', '/wsx?x=1', '/other?path=/ws']) {
      const answer = await rawExchange(port, upgradeRequest(urlPath));
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(answer).toMatch(/\r\n\r\nNo WebSocket endpoint at this path\n$/);
    }
    expect(await drained(openConnections)).toBe(0);
    expect(target.connections).toHaveLength(0);
    await echoesOnWs(port);
  });

  it("are left to the app's own upgrade listener (answered once, by it)", async () => {
    const seen: string[] = [];
    const { port, openConnections } = await mounted((req, socket) => {
      if ((req.url ?? '').startsWith('/ws')) return;
      seen.push(req.url ?? '');
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    });
    const answer = await rawExchange(port, upgradeRequest('/elsewhere'));
    expect(answer).toBe('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    expect(seen).toEqual(['/elsewhere']);
    expect(await drained(openConnections)).toBe(0);
    await echoesOnWs(port);
  });
});

describe('attachWebsockify: connections before their session', () => {
  it('close() drops an upgrade still waiting for its target at once, and resolves', async () => {
    const app = http.createServer();
    let lookups = 0;
    // A target lookup that never answers (a token database that hangs).
    const attached = attachWebsockify(app, {
      resolveTarget: () => {
        lookups++;
        return new Promise<never>(() => {});
      },
      logger: recordingLogger(),
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    defer(() => {
      app.closeAllConnections();
      return new Promise<void>((r) => app.close(() => r()));
    });
    const { port } = app.address() as { port: number };
    const socket = net.connect(port, '127.0.0.1', () => socket.write(upgradeRequest('/')));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    await eventually(() => lookups === 1, 'the target lookup to start');
    await withTimeout(attached.close(), 5000, 'close()');
    await withTimeout(closed, 5000, 'the waiting upgrade dropped');
    expect(answer).toBe('');
  });

  it("a unix-socket server's clients are logged as unix:PATH", async () => {
    const target = await echoTarget();
    defer(() => target.close());
    const dir = tempDir();
    const sock = path.join(dir, 'app.sock');
    const logger = recordingLogger();
    const app = http.createServer();
    const attached = attachWebsockify(app, { target: `127.0.0.1:${target.port}`, logger });
    defer(() => attached.close());
    await new Promise<void>((r) => app.listen(sock, () => r()));
    defer(() => {
      app.closeAllConnections();
      return new Promise<void>((r) => app.close(() => r()));
    });
    const c = await openClient(`ws+unix://${sock}:/unix`);
    c.ws.send(Buffer.from('hi'));
    expect((await c.waitForBytes(2)).toString()).toBe('hi');
    c.ws.close();
    await withTimeout(c.closed, 5000, 'close');
    expect(logger.lines).toContain(
      `1: unix:${sock}: WebSocket connection on /unix (binary), proxying to 127.0.0.1:${target.port}`,
    );
  });
});

describe('attachWebsockify: target resolvers', () => {
  /** An app server with websockify attached, its target chosen by `resolveTarget`. */
  async function resolving(resolveTarget: TargetResolver): Promise<number> {
    const app = http.createServer();
    const attached = attachWebsockify(app, { resolveTarget, logger: recordingLogger() });
    defer(() => attached.close());
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    defer(() => {
      app.closeAllConnections();
      return new Promise<void>((r) => app.close(() => r()));
    });
    return (app.address() as net.AddressInfo).port;
  }

  it('may answer with a thenable that is not a native promise', async () => {
    const target = await echoTarget();
    defer(() => target.close());
    const spec: TargetSpec = { kind: 'tcp', host: '127.0.0.1', port: target.port };
    const thenable = { then: (resolve: (s: TargetSpec) => void) => setImmediate(resolve, spec) };
    const port = await resolving(() => thenable as unknown as Promise<TargetSpec>);
    const c = await openClient(`ws://127.0.0.1:${port}/`);
    const data = randomBytes(64);
    c.ws.send(data);
    expect((await c.waitForBytes(64)).equals(data)).toBe(true);
    c.ws.terminate();
  });

  it('that throw at once refuse the upgrade: their status, else 502 with the message', async () => {
    const port = await resolving((req) => {
      if (req.url === '/refused') throw new UpgradeRefused(404, 'no such token');
      throw new Error('lookup broke');
    });
    expect(await rawExchange(port, upgradeRequest('/refused'))).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    const failed = await rawExchange(port, upgradeRequest('/other'));
    expect(failed).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(failed).toMatch(/lookup broke/);
  });
});
