// First-byte sniffing: what a new connection speaks, judged from its first bytes. 0x16 (a TLS
// handshake record) or 0x80 (an SSLv2-style ClientHello) is TLS, `<policy-file-request/>` is
// Flash asking for its socket policy, anything else is plain HTTP. The bytes read are put back
// on the socket, so whoever takes it next reads the connection from its start.

import type net from 'node:net';
import { POLICY_REQUEST } from './flash-policy.js';

export type FirstBytes = 'tls' | 'plain' | 'flash-policy';
/** What sniffing found: a protocol, 'timeout' (nothing arrived in time) or 'closed' (the peer left). */
export type SniffResult = FirstBytes | 'timeout' | 'closed';

const TLS_HANDSHAKE_RECORD = 0x16;
const SSL2_CLIENT_HELLO = 0x80;
const LESS_THAN = 0x3c;

/** Classifies the bytes seen so far; undefined while they are a strict prefix of the policy request. */
export function classifyFirstBytes(bytes: Buffer): FirstBytes | undefined {
  const first = bytes[0];
  if (first === TLS_HANDSHAKE_RECORD || first === SSL2_CLIENT_HELLO) return 'tls';
  if (first !== LESS_THAN) return 'plain';
  const n = Math.min(bytes.length, POLICY_REQUEST.length);
  if (bytes.compare(POLICY_REQUEST, 0, n, 0, n) !== 0) return 'plain';
  return bytes.length >= POLICY_REQUEST.length ? 'flash-policy' : undefined;
}

/**
 * Waits for the first bytes, until `deadline` aborts, and classifies them. On return the socket
 * is paused with those bytes unshifted (the first chunk itself: plain traffic is not copied).
 */
export function sniffConnection(socket: net.Socket, deadline: AbortSignal): Promise<SniffResult> {
  return new Promise((resolve) => {
    let seen: Buffer | undefined;
    const finish = (result: SniffResult): void => {
      deadline.removeEventListener('abort', onDeadline);
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.pause();
      if (seen && !socket.destroyed) socket.unshift(seen);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      seen = seen ? Buffer.concat([seen, chunk]) : chunk;
      const kind = classifyFirstBytes(seen);
      if (kind) finish(kind);
    };
    const onGone = (): void => finish('closed');
    const onDeadline = (): void => finish('timeout');
    if (deadline.aborted) return finish('timeout');
    deadline.addEventListener('abort', onDeadline, { once: true });
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
  });
}
