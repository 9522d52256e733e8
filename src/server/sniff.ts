// First-byte sniffing: what a new connection speaks, judged from its first bytes. 0x16 (a TLS
// handshake record) or 0x80 (an SSLv2-style ClientHello) is TLS, `<policy-file-request/>` is
// Flash asking for its socket policy, anything else is plain HTTP. The bytes read are handed on
// with the result, for whoever takes the connection next to read first (or put back on it).

import type net from 'node:net';
import { POLICY_REQUEST } from './flash-policy.js';
import { readPrefix, type PrefixResult, type PrefixVerdict } from './prefix-reader.js';

export type FirstBytes = 'tls' | 'plain' | 'flash-policy';
/** What sniffing found: a protocol, 'timeout' (nothing arrived in time) or 'closed' (the peer left). */
export type SniffResult = PrefixResult<FirstBytes>;

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
 * Waits for the first bytes and classifies them; `done` gets the result with the socket paused,
 * and with a protocol the bytes read (the first chunk itself: plain traffic is not copied),
 * which are no longer on the socket. On 'timeout' and 'closed' they are back on it. Returns
 * what the handshake deadline calls to end the wait ('timeout').
 */
export function sniffConnection(socket: net.Socket, done: (result: SniffResult, first?: Buffer) => void): () => void {
  return readPrefix(socket, examineFirstBytes, done, { handBack: true });
}

function examineFirstBytes(seen: Buffer): PrefixVerdict<FirstBytes> | undefined {
  const kind = classifyFirstBytes(seen);
  return kind && { result: kind, consumed: 0 };
}
