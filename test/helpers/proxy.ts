// Starting the proxy under test in process, through the library API (the real CLI in a child
// process: cli.ts).

import type net from 'node:net';
import { startWebsockify, type WebsockifyOptions, type WebsockifyServer } from '../../src/index.js';

export async function startProxy(
  options: WebsockifyOptions,
): Promise<{ server: WebsockifyServer; url: string; port: number }> {
  const server = await startWebsockify({ listen: { host: '127.0.0.1', port: 0 }, ...options });
  const { port } = server.address() as net.AddressInfo;
  return { server, port, url: `ws://127.0.0.1:${port}` };
}
