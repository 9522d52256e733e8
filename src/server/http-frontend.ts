// The HTTP layer in front of the proxy: a Node http.Server that never listens itself. Sockets
// are handed to it by the listener; it enforces the request deadline and header limits, sends
// upgrades to the proxy core and everything else to the plain-HTTP handler.

import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { writeHttpError } from '../protocol/http-response.js';
import { handlePlainRequest } from './plain-http.js';

export interface HttpFrontendOptions {
  handshakeTimeoutMs: number;
  maxHeaderSize: number;
  logger: Logger;
  onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
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
  server.on('request', (req, res) => {
    opts.logger.debug(`${req.socket.remoteAddress}: ${req.method} ${req.url} (not an upgrade)`);
    handlePlainRequest(req, res);
  });
  server.on('upgrade', (req, socket, head) => opts.onUpgrade(req, socket, head));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = clientErrorStatus(err);
    opts.logger.debug(`bad request (${status}): ${err.code ?? err.message}`);
    writeHttpError(socket, status);
  });
  return server;
}
