// The listening socket: resolving the listen address the way the reference does (IPv4 first,
// IPv6 first with -6; a bare port means 0.0.0.0, or dual-stack :: with -6) and accepting TCP
// connections with TCP_NODELAY and keepalive, each handed to a connection callback.

import dns from 'node:dns/promises';
import net from 'node:net';
import { ConfigError } from '../config/errors.js';

export async function resolveListenHost(host: string | undefined, preferIpv6: boolean): Promise<string> {
  if (host === undefined) return preferIpv6 ? '::' : '0.0.0.0';
  if (net.isIP(host)) return host;
  let addresses: { address: string; family: number }[];
  try {
    addresses = await dns.lookup(host, { all: true });
  } catch (err) {
    throw new ConfigError(`cannot resolve listen host '${host}': ${(err as Error).message}`, 'listen');
  }
  addresses.sort((a, b) => (preferIpv6 ? b.family - a.family : a.family - b.family));
  const first = addresses[0];
  if (!first) throw new ConfigError(`listen host '${host}' has no address`, 'listen');
  return first.address;
}

export function createListener(onConnection: (socket: net.Socket) => void): net.Server {
  return net.createServer({ noDelay: true, keepAlive: true }, onConnection);
}

/** Listens and resolves once bound; rejects with the OS error (EADDRINUSE, EACCES...). */
export function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, backlog: 1024 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
