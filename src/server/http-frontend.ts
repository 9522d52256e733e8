// The HTTP layer in front of the proxy: a Node http.Server that never listens itself.
// Connections are handed to it after sniffing (and TLS); it enforces the header limits and, for
// the requests after the first on a kept-alive connection, the request deadline (the first
// request is bounded by the connection's own deadline, connection.ts). It sends upgrades to the
// proxy core and everything else to the plain-HTTP request handler.

import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { writeHttpError } from '../protocol/http-response.js';
import type { Connection } from './connection.js';
import type { RequestHandler } from './plain-http.js';

export interface HttpFrontendOptions {
  handshakeTimeoutMs: number;
  maxHeaderSize: number;
  logger: Logger;
  /** The connection a socket belongs to (for log labels, and to ignore ones already dropped). */
  connectionOf: (socket: Duplex) => Connection | undefined;
  onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer, conn: Connection) => void;
  /** Requests that are not upgrades (plain-http.ts: the web server and the method table). */
  onRequest: RequestHandler;
}

function clientErrorStatus(err: NodeJS.ErrnoException): number {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

export function createHttpFrontend(opts: HttpFrontendOptions): http.Server {
  const server = http.createServer({
    maxHeaderSize: opts.maxHeaderSize,
    headersTimeout: opts.handshakeTimeoutMs,
    requestTimeout: opts.handshakeTimeoutMs,
    // The deadlines above are only checked this often; keep it well under them.
    connectionsCheckingInterval: Math.min(1000, Math.max(50, opts.handshakeTimeoutMs / 4)),
    keepAliveTimeout: 5000,
  });
  // Node starts tracking connections (the request deadline, closeAllConnections) when a server
  // starts listening. This one never listens itself (the listener hands it sockets), so start
  // that tracking now.
  server.emit('listening');
  /** The request's connection, moved to `stage`; undefined (and closed) when it was dropped already. */
  const arrived = (socket: Duplex, stage: 'web' | 'proxy' | 'answered'): Connection | undefined => {
    const conn = opts.connectionOf(socket);
    if (!conn || conn.expired) {
      socket.destroy();
      return undefined;
    }
    conn.enter(stage);
    return conn;
  };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (arrived(req.socket, 'web')) opts.onRequest(req, res);
  });
  // Node hands CONNECT to a 'connect' listener (or drops the connection); the reference says 501.
  server.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
    const conn = arrived(req.socket, 'answered');
    if (!conn) return;
    opts.logger.info(`${conn.peer}: code 501, message Unsupported method ('CONNECT')`);
    writeHttpError(socket, 501, "Unsupported method ('CONNECT')");
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const conn = arrived(req.socket, 'proxy');
    if (conn) opts.onUpgrade(req, socket, head, conn);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const conn = opts.connectionOf(socket);
    if (err.code === 'ECONNRESET' || !socket.writable || conn?.expired) {
      socket.destroy();
      return;
    }
    conn?.enter('answered'); // answered here: the handshake deadline has nothing left to do
    const status = clientErrorStatus(err);
    opts.logger.debug(`${conn ? `${conn.label}: ` : ''}bad request (${status}): ${err.code ?? err.message}`);
    writeHttpError(socket, status);
  });
  return server;
}
