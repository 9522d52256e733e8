// Where a session's bytes go: the TargetSpec type, how it is described in logs, and opening the
// socket to it (TCP with TCP_NODELAY and keepalive, or a unix-domain stream socket).

import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { formatHostPort } from '../config/address.js';

export type TargetSpec = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/**
 * Chooses the target for an upgrade request. Fixed targets ignore the request; token plugins
 * (later) read it. Returning a rejection refuses the upgrade before the 101 is sent.
 */
export type TargetResolver = (req: IncomingMessage) => TargetSpec | Promise<TargetSpec>;

export function describeTarget(target: TargetSpec): string {
  return target.kind === 'tcp' ? formatHostPort(target.host, target.port) : target.path;
}

/**
 * Starts connecting to the target. The socket is half-open capable: the target may stop
 * sending and still receive what the client has queued.
 */
export function connectTarget(target: TargetSpec): net.Socket {
  if (target.kind === 'unix') return net.connect({ path: target.path, allowHalfOpen: true });
  return net.connect({
    host: target.host,
    port: target.port,
    allowHalfOpen: true,
    noDelay: true,
    keepAlive: true,
  });
}
