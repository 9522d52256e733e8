// The Flash socket policy answer: a client that opens with `<policy-file-request/>` (Flash
// Player's web-socket-js fallback asks this before connecting) gets a cross-domain policy
// allowing every domain to reach this port, NUL-terminated as Flash expects, and is closed.

import type net from 'node:net';

export const POLICY_REQUEST = Buffer.from('<policy-file-request/>', 'latin1');

export function policyResponse(port: number): Buffer {
  const xml = `<cross-domain-policy><allow-access-from domain="*" to-ports="${port}" /></cross-domain-policy>`;
  return Buffer.from(`${xml}\0`, 'latin1');
}

/**
 * Answers and closes. What the client sent is read and discarded (closing with unread data
 * would reset the connection and could lose the answer); `deadlineMs` bounds the wait for the
 * client to close its side.
 */
export function answerPolicyRequest(socket: net.Socket, deadlineMs: number): void {
  const timer = setTimeout(() => socket.destroy(), deadlineMs);
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
  socket.end(policyResponse(socket.localPort ?? 0));
}
