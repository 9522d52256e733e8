// The PROXY protocol on an accepted connection (`--proxy-protocol`): read the header from the
// socket before anything else (first-byte sniffing and TLS come after it), within the
// connection's handshake deadline, put back whatever followed it, and make the client it names
// the connection's peer, unless the sender is not a trusted proxy.

import type * as net from 'node:net';
import { formatHostPort } from '../config/address.js';
import type { Logger } from '../log/logger.js';
import { parseProxyHeader, type ProxyHeader } from '../protocol/proxy-protocol.js';
import type { Connection } from './connection.js';

export type ProxyHeaderRead =
  | { kind: 'header'; header: ProxyHeader }
  | { kind: 'invalid'; reason: string }
  | { kind: 'timeout' }
  | { kind: 'closed' };

/**
 * Reads the PROXY header at the start of `socket`, until `deadline` aborts. On return the socket
 * is paused, with the bytes after the header unshifted (nothing beyond the header is consumed).
 */
export function readProxyHeader(socket: net.Socket, deadline: AbortSignal): Promise<ProxyHeaderRead> {
  return new Promise((resolve) => {
    let seen: Buffer = Buffer.alloc(0);
    const finish = (result: ProxyHeaderRead, rest?: Buffer): void => {
      deadline.removeEventListener('abort', onDeadline);
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.pause();
      if (rest && rest.length > 0 && !socket.destroyed) socket.unshift(rest);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const parsed = parseProxyHeader(seen);
      if (parsed.kind === 'incomplete') return;
      if (parsed.kind === 'invalid') return finish(parsed);
      finish(parsed, seen.subarray(parsed.header.length));
    };
    const onGone = (): void => finish({ kind: 'closed' });
    const onDeadline = (): void => finish({ kind: 'timeout' });
    if (deadline.aborted) return finish({ kind: 'timeout' });
    deadline.addEventListener('abort', onDeadline, { once: true });
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    socket.resume();
  });
}

/** The peer label and address a header's source gives: `192.0.2.7:51000` and `192.0.2.7`. */
function sourceOf(header: ProxyHeader): { peer: string; address: string } | undefined {
  const source = header.command === 'proxy' ? header.source : undefined;
  if (source === undefined) return undefined;
  if ('path' in source)
    return source.path === '' ? undefined : { peer: `unix:${source.path}`, address: `unix:${source.path}` };
  return { peer: formatHostPort(source.address, source.port), address: source.address };
}

/**
 * Makes the header's client the connection's peer. A LOCAL header (the proxy's own health
 * check), one without addresses, or one from a peer `trusts` refuses keeps the socket's peer.
 */
export function applyProxyHeader(
  conn: Connection,
  header: ProxyHeader,
  trusts: (address: string | undefined) => boolean,
  logger: Logger,
): void {
  const source = sourceOf(header);
  const what = `PROXY v${header.version} ${header.command === 'local' ? 'LOCAL' : header.family}`;
  if (!source) {
    logger.debug(`${conn.label}: ${what} header; keeping the connection's own address`);
    return;
  }
  if (!trusts(conn.raw.remoteAddress)) {
    logger.debug(`${conn.label}: ${what} header from a peer that is not a trusted proxy; ignored`);
    return;
  }
  logger.debug(`${conn.label}: ${what} header: the client is ${source.peer}`);
  conn.peer = source.peer;
  conn.address = source.address;
}
