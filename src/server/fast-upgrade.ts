// The fast path from a plain connection to the proxy core: when the connection's first bytes
// (as sniffing read them) are a whole upgrade request that protocol/upgrade-head.ts reads, the
// request is built here and goes straight to the upgrade handler, without Node's HTTP server
// and its per-connection parser, listeners and tracking. Anything else is put back on the
// socket, for the HTTP front end.

import { IncomingMessage } from 'node:http';
import type net from 'node:net';
import { readUpgradeHead } from '../protocol/upgrade-head.js';

type HeaderLines = { _addHeaderLines?: (headers: string[], n: number) => void };

/** Node's own header reader, which applies its rules for repeated headers; absent: no fast path. */
const canAddHeaders = typeof (IncomingMessage.prototype as HeaderLines)._addHeaderLines === 'function';

/**
 * The upgrade request that `first`, the bytes read from the start of `socket` (paused), begins
 * with, and the bytes after it; undefined when Node's HTTP server is to read it, with `first`
 * put back on the socket.
 */
export function takeUpgradeRequest(
  socket: net.Socket,
  first: Buffer,
  maxHeaderSize: number,
): { req: IncomingMessage; head: Buffer } | undefined {
  const read = canAddHeaders ? readUpgradeHead(first, maxHeaderSize) : undefined;
  if (!read) {
    socket.unshift(first);
    return undefined;
  }
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = read.url;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  // Headers first: once `complete` is set, Node reads these lines as trailers.
  (req as HeaderLines)._addHeaderLines!(read.rawHeaders, read.rawHeaders.length);
  (req as { upgrade?: boolean }).upgrade = true; // as Node's parser marks it
  req.complete = true;
  return { req, head: first.subarray(read.length) };
}
