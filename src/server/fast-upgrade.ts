// The fast path from a plain connection to the proxy core: when the connection's first bytes
// (back on the socket after sniffing) are a whole upgrade request that protocol/upgrade-head.ts
// reads, the request is built here and goes straight to the upgrade handler, without Node's
// HTTP server and its per-connection parser, listeners and tracking. Everything else is put
// back as it was, for the HTTP front end.

import { IncomingMessage } from 'node:http';
import type net from 'node:net';
import { readUpgradeHead } from '../protocol/upgrade-head.js';

type HeaderLines = { _addHeaderLines?: (headers: string[], n: number) => void };

/** Node's own header reader, which applies its rules for repeated headers; absent: no fast path. */
const canAddHeaders = typeof (IncomingMessage.prototype as HeaderLines)._addHeaderLines === 'function';

/**
 * The upgrade request at the start of `socket` (paused, its first bytes buffered), and the bytes
 * after it; undefined, with the socket as it was, when Node's HTTP server is to read it.
 */
export function takeUpgradeRequest(
  socket: net.Socket,
  maxHeaderSize: number,
): { req: IncomingMessage; head: Buffer } | undefined {
  if (!canAddHeaders || socket.readableLength === 0) return undefined;
  const first = socket.read() as Buffer | null;
  if (first === null) return undefined;
  const read = readUpgradeHead(first, maxHeaderSize);
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
