// attachWebsockify with a path on an application's own http server: upgrades on other paths
// are answered (400) when the application has no 'upgrade' listener of its own, and left to it
// when it has one; either way no socket is left open. Real server, raw requests on loopback.

import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { attachWebsockify } from '../src/index.js';
import { openClient, rawExchange, upgradeRequest } from './helpers/clients.js';
import { defer } from './helpers/cleanup.js';
import { sleep } from './helpers/process.js';
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
  const deadline = Date.now() + 5000;
  while ((await openConnections()) > 0 && Date.now() < deadline) await sleep(10);
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
