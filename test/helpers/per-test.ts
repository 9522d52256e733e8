// Resources that live for the current test only (stopped by defer() afterwards): an echo target,
// a WebSocket client, the check that bytes sent through the proxy come back unchanged, and the
// wrapped test server's command line and greeting.

import { fileURLToPath } from 'node:url';
import { defer } from './cleanup.js';
import { openClient, type OpenClient } from './clients.js';
import { echoTarget } from './targets.js';

/** An echo target on loopback; resolves to its "127.0.0.1:PORT". */
export async function echoForTest(): Promise<string> {
  const t = await echoTarget();
  defer(() => t.close());
  return `127.0.0.1:${t.port}`;
}

/** An open WebSocket client (`ws://...` or `ws+unix:///path:/`), terminated after the test. */
export async function clientForTest(url: string): Promise<OpenClient> {
  const c = await openClient(url);
  defer(() => c.ws.terminate());
  return c;
}

/** Sends `text` as a binary message and waits until exactly it has come back. */
export async function expectEcho(c: OpenClient, text: string): Promise<void> {
  const before = c.bytes().length;
  c.ws.send(Buffer.from(text));
  const got = (await c.waitForBytes(before + Buffer.byteLength(text))).subarray(before).toString();
  if (got !== text) throw new Error(`echo mismatch: sent ${JSON.stringify(text)}, got ${JSON.stringify(got)}`);
}

const WRAP_SERVER = fileURLToPath(new URL('../fixtures/wrap-server.mjs', import.meta.url));

/** `-- node wrap-server.mjs 0.0.0.0 PORT`: a wrapped test server binding `port` on all interfaces. */
export function wrapServerCommand(port: number): string[] {
  return ['--', 'node', WRAP_SERVER, '0.0.0.0', String(port)];
}

/** Waits for the greeting of test/fixtures/wrap-server.mjs ("hello PID"); returns the PID. */
export async function expectHello(c: OpenClient): Promise<number> {
  const line = (await c.waitForBytes(1)).toString();
  const m = /^hello (\d+)\n$/.exec(line);
  if (!m) throw new Error(`expected the wrapped server's greeting, got ${JSON.stringify(line)}`);
  return Number(m[1]);
}
