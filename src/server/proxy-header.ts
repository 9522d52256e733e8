// The PROXY protocol on an accepted connection (`--proxy-protocol`): read the header from the
// socket before anything else (first-byte sniffing and TLS come after it), within the
// connection's handshake deadline, put back whatever followed it, and make the client it names
// the connection's peer, unless the sender is not a trusted proxy.

import type * as net from 'node:net';
import { formatHostPort } from '../config/address.js';
import type { Logger } from '../log/logger.js';
import { parseProxyHeader, type ProxyHeader } from '../protocol/proxy-protocol.js';
import type { Connection } from './connection.js';
import { readPrefix, type PrefixResult, type PrefixVerdict } from './prefix-reader.js';

export type ProxyHeaderRead = { kind: 'header'; header: ProxyHeader } | { kind: 'invalid'; reason: string };

/**
 * Reads the PROXY header at the start of `socket`; `done` gets it with the socket paused and
 * the bytes after the header put back (nothing beyond the header is consumed). Returns what the
 * handshake deadline calls to end the wait ('timeout').
 */
export function readProxyHeader(socket: net.Socket, done: (read: PrefixResult<ProxyHeaderRead>) => void): () => void {
  return readPrefix(socket, examineHeader, done, { resume: true });
}

function examineHeader(seen: Buffer): PrefixVerdict<ProxyHeaderRead> | undefined {
  const parsed = parseProxyHeader(seen);
  if (parsed.kind === 'incomplete') return undefined;
  // An invalid header: the connection is closed, nothing is put back.
  if (parsed.kind === 'invalid') return { result: parsed, consumed: seen.length };
  return { result: parsed, consumed: parsed.header.length };
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
