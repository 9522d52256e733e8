// The Flash socket policy answer: a connection opening with `<policy-file-request/>` gets the
// cross-domain policy for the listen port, NUL-terminated, and is closed; anything else that
// starts with '<' is ordinary (bad) HTTP.

import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { defer } from './helpers/cleanup.js';
import { startCliForTest } from './helpers/cli.js';
import { rawExchange } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { withTimeout } from './helpers/wait.js';
import { echoTarget } from './helpers/targets.js';

// The reference's XML, byte for byte, with the NUL terminator Flash's policy protocol wants.
const POLICY = '<cross-domain-policy><allow-access-from domain="*" to-ports="*" /></cross-domain-policy>\0';

async function proxyPort(): Promise<number> {
  const target = await echoTarget();
  const { server, port } = await startProxy({ target: `127.0.0.1:${target.port}` });
  defer(async () => {
    await server.close();
    await target.close();
  });
  return port;
}

/** Sends the parts with a pause between them; resolves with everything received until close. */
function sendInParts(port: number, parts: string[]): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const got: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(parts[0]!);
        let i = 1;
        const timer = setInterval(() => {
          if (i < parts.length) s.write(parts[i++]!);
          else clearInterval(timer);
        }, 100);
        s.on('close', () => clearInterval(timer));
      });
      s.on('data', (d) => got.push(d));
      s.on('error', reject);
      s.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
    }),
    5000,
    'policy exchange',
  );
}

describe('Flash socket policy', () => {
  it('answers <policy-file-request/> with NUL byte-exact and closes', async () => {
    const port = await proxyPort();
    expect(await rawExchange(port, '<policy-file-request/>\0')).toBe(POLICY);
  });

  it('answers the request without its NUL too', async () => {
    const port = await proxyPort();
    expect(await rawExchange(port, '<policy-file-request/>')).toBe(POLICY);
  });

  it('answers a request that arrives in pieces', async () => {
    const port = await proxyPort();
    expect(await sendInParts(port, ['<pol', 'icy-file-req', 'uest/>\0'])).toBe(POLICY);
  });

  it('treats other input starting with < as HTTP (400)', async () => {
    const port = await proxyPort();
    expect(await rawExchange(port, '<policy-file-reques!>\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('the websockify command answers it, and still proxies on the same port', async () => {
    const target = await echoTarget();
    defer(() => target.close());
    const cli = await startCliForTest(['-v', '127.0.0.1:0', `127.0.0.1:${target.port}`]);
    expect(await rawExchange(cli.port, '<policy-file-request/>\0')).toBe(POLICY);
    await cli.waitForStderr(/^1: 127\.0\.0\.1: sending Flash socket policy$/m);
    expect(await rawExchange(cli.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 405 /,
    );
  });
});
