// BaseTokenAPI and JSONTokenApi against a small HTTP server in the test: the token arrives
// URL-encoded in the path, 2xx answers are targets, other statuses unknown tokens, a slow API
// times out (504), an unreachable or nonsensical one fails (502).

import { describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type net from 'node:net';
import { loadTokenPlugin } from '../src/index.js';
import { createBaseTokenApi, createJsonTokenApi } from '../src/targets/plugins/token-api.js';
import { defer } from './helpers/cleanup.js';
import { openClient } from './helpers/clients.js';
import { attemptUpgrade, recordingLogger, tokenProxy } from './helpers/plugins.js';
import { echoTarget, unusedPort } from './helpers/targets.js';

/** An API answering GET /lookup/<token>; `answers` maps a decoded token to [status, body]. */
async function tokenApi(answers: Record<string, [number, string] | 'hang'>): Promise<{ base: string; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    const token = decodeURIComponent((req.url ?? '').replace(/^\/lookup\//, ''));
    const answer = answers[token] ?? [404, 'no such token'];
    if (answer === 'hang') return;
    res.writeHead(answer[0], { 'Content-Type': 'text/plain' }).end(answer[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  defer(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { base: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/lookup/`, seen };
}

describe('BaseTokenAPI', () => {
  it('encodes the token into the URL and reads host:port from a 2xx body', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const api = await tokenApi({ 'a/b c?&#': [200, `127.0.0.1:${echo.port}\n`], v6: [203, '[::1]:5900'] });
    const plugin = createBaseTokenApi(`${api.base}%s`);
    expect(await plugin.lookup('v6')).toEqual({ kind: 'tcp', host: '::1', port: 5900 });
    const { url } = await tokenProxy(plugin);
    const client = await openClient(`${url}/?token=${encodeURIComponent('a/b c?&#')}`);
    client.ws.send(Buffer.from('api'));
    expect((await client.waitForBytes(3)).toString()).toBe('api');
    client.ws.close();
    expect(api.seen).toEqual(['/lookup/v6', '/lookup/a%2Fb%20c%3F%26%23']);
  });

  it('non-2xx is an unknown token (404); a slow API 504; unreachable or junk answers 502', async () => {
    const api = await tokenApi({ gone: [410, 'gone'], err: [500, 'oops'], slow: 'hang', junk: [200, 'no colon here'] });
    const { port, logger } = await tokenProxy(createBaseTokenApi(`${api.base}%s`, 500));
    expect((await attemptUpgrade(port, '/?token=unknown')).status).toBe(404);
    expect((await attemptUpgrade(port, '/?token=gone')).status).toBe(404);
    expect((await attemptUpgrade(port, '/?token=err')).status).toBe(404);
    const slow = await attemptUpgrade(port, '/?token=slow');
    expect([slow.status, slow.body]).toEqual([504, 'Token lookup timed out\n']);
    expect((await attemptUpgrade(port, '/?token=junk')).status).toBe(502);
    const down = await tokenProxy(createBaseTokenApi(`http://127.0.0.1:${await unusedPort()}/%s`));
    expect((await attemptUpgrade(down.port, '/?token=x')).status).toBe(502);
    const log = logger.lines.join('\n');
    expect(log).toMatch(/504 Token 'slow': lookup timed out: BaseTokenAPI: no answer within 0\.5 s/);
    expect(log).toMatch(/502 Token 'junk': lookup failed: BaseTokenAPI: answer is not a target: 'no colon here'/);
  });

  it('refuses a source without %s or that is not an http URL (exit 2 from the CLI path)', async () => {
    const context = { logger: recordingLogger() };
    await expect(loadTokenPlugin('BaseTokenAPI', 'http://x/lookup', context)).rejects.toThrow(
      /^tokenPlugin: BaseTokenAPI needs tokenSource: a URL containing %s/,
    );
    await expect(loadTokenPlugin('BaseTokenAPI', 'ftp://x/%s', context)).rejects.toThrow(/is not an http\(s\) URL/);
  });
});

describe('JSONTokenApi', () => {
  it('reads {"host", "port"} from a JSON body; other bodies are failures', async () => {
    const api = await tokenApi({
      a: [200, '{"host": "10.0.0.7", "port": 5907}'],
      b: [200, '{"host": "h", "port": "5908"}'],
      u: [200, '{"host": "unix_socket", "port": "/run/x.sock"}'],
      bad: [200, '{"host": "h"}'],
      notjson: [200, 'h:1'],
    });
    const plugin = createJsonTokenApi(`${api.base}%s`);
    expect(await plugin.lookup('a')).toEqual({ kind: 'tcp', host: '10.0.0.7', port: 5907 });
    expect(await plugin.lookup('b')).toEqual({ kind: 'tcp', host: 'h', port: 5908 });
    expect(await plugin.lookup('u')).toEqual({ kind: 'unix', path: '/run/x.sock' });
    expect(await plugin.lookup('missing')).toBeUndefined();
    await expect(plugin.lookup('bad')).rejects.toThrow(/JSONTokenApi: answer is not a target/);
    await expect(plugin.lookup('notjson')).rejects.toThrow(/JSONTokenApi: answer is not a target/);
  });
});
