// The listening socket: one net.Server accepting connections (TCP_NODELAY and keepalive on TCP
// ones), opened from one of the three listen sources: a TCP address, resolved here the way the
// reference does (IPv4 first, IPv6 first with -6; a bare port means 0.0.0.0, or dual-stack ::
// with -6), a unix socket file (unix.ts) or an inherited listening socket (inherited.ts), and
// described for banners and logs. The standalone server and a cluster's primary both open theirs
// here.

import dns from 'node:dns/promises';
import net from 'node:net';
import { ConfigError } from '../errors/config-error.js';
import type { ListenSource } from '../config/options.js';
import type { Logger } from '../log/logger.js';
import { formatHostPort } from '../config/address.js';
import { listenFd, unixSocketPath } from './inherited.js';
import { listenServer } from './server-listen.js';
import { formatMode, listenUnix } from './unix.js';

export async function resolveListenHost(host: string | undefined, preferIpv6: boolean): Promise<string> {
  if (host === undefined) return preferIpv6 ? '::' : '0.0.0.0';
  if (net.isIP(host)) return host;
  let addresses: { address: string; family: number }[];
  try {
    addresses = await dns.lookup(host, { all: true });
  } catch (err) {
    throw new ConfigError(`cannot resolve listen host '${host}': ${(err as Error).message}`, 'listen', 'ERR_LISTEN');
  }
  addresses.sort((a, b) => (preferIpv6 ? b.family - a.family : a.family - b.family));
  const first = addresses[0];
  if (!first) throw new ConfigError(`listen host '${host}' has no address`, 'listen', 'ERR_LISTEN');
  return first.address;
}

export function createListener(onConnection: (socket: net.Socket) => void): net.Server {
  return net.createServer({ noDelay: true, keepAlive: true }, onConnection);
}

/**
 * Opens `source` on `server`. Rejects with a ConfigError for an unresolvable host, else with a
 * coded error (EADDRINUSE, EACCES, ENOTSOCK...) saying why the socket could not be opened.
 */
export async function listenOn(
  server: net.Server,
  source: ListenSource,
  preferIpv6: boolean,
  logger: Logger,
): Promise<void> {
  switch (source.kind) {
    case 'tcp':
      return listenServer(server, {
        host: await resolveListenHost(source.host, preferIpv6),
        port: source.port,
        backlog: 1024,
      });
    case 'unix':
      return listenUnix(server, source.path, source.mode, logger);
    case 'fd':
      return listenFd(server, source.fd);
  }
}

/** Where `source` listens once bound, for banners and logs: "127.0.0.1:6080", "unix socket /run/ws.sock"... */
export function describeListen(source: ListenSource, bound: net.AddressInfo | string | null): string {
  let address: string;
  if (bound !== null && typeof bound === 'object') address = formatHostPort(bound.address, bound.port);
  else if (source.kind === 'unix') address = `unix socket ${source.path}`;
  else address = `unix socket ${bound || (source.kind === 'fd' && unixSocketPath(source.fd)) || '(unnamed)'}`;
  switch (source.kind) {
    case 'tcp':
      return address;
    case 'unix':
      return `${address} (mode ${formatMode(source.mode)})`;
    case 'fd':
      return `${address} (fd ${source.fd}${source.name ? ` from ${source.name}` : ''})`;
  }
}
