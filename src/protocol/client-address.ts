// Which address a request came from. Behind a load balancer the socket's remote address is the
// balancer's; the server learns the client's from a PROXY protocol header or a trusted
// X-Forwarded-For and records it on the request here, so that everything downstream (auth
// plugins, token plugins, custom target resolvers) asks one place and gets the real client.

import type { IncomingMessage } from 'node:http';

const recorded = new WeakMap<IncomingMessage, string>();

/** Records `address` as the client of `req` (done by the server before anyone else sees it). */
export function recordClientAddress(req: IncomingMessage, address: string): void {
  recorded.set(req, address);
}

/** The client's address: the one the server recorded, else the socket's remote address. */
export function clientAddress(req: IncomingMessage): string | undefined {
  return recorded.get(req) ?? req.socket.remoteAddress;
}
