// The Flash socket policy answer: a client that opens with `<policy-file-request/>` (Flash
// Player's web-socket-js fallback asks this before connecting) gets the reference's
// cross-domain policy (every domain, every port: the port a client dialled may differ from ours
// behind NAT or a container port mapping), NUL-terminated as Flash expects, and is closed.

import type net from 'node:net';

export const POLICY_REQUEST = Buffer.from('<policy-file-request/>', 'latin1');

export const POLICY_RESPONSE = Buffer.from(
  '<cross-domain-policy><allow-access-from domain="*" to-ports="*" /></cross-domain-policy>\0',
  'latin1',
);

/**
 * Answers and closes. What the client sent is read and discarded (closing with unread data
 * would reset the connection and could lose the answer); `deadlineMs` bounds the wait for the
 * client to close its side.
 */
export function answerPolicyRequest(socket: net.Socket, deadlineMs: number): void {
  const timer = setTimeout(() => socket.destroy(), deadlineMs);
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
  socket.end(POLICY_RESPONSE);
}
