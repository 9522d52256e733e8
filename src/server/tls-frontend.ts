// The TLS layer in front of HTTP: a Node tls.Server that never listens itself. Connections
// whose first byte says TLS are handed to it; it runs the handshake (within the connection's
// deadline), checks the client certificate under --verify-client, and hands the connection on
// with its TLSSocket, so that `req.socket.encrypted` and `req.socket.getPeerCertificate()` work
// downstream. New credentials (certificate rotation) apply to the next handshake.

import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import type { RefusalEvent } from '../protocol/refusal-event.js';
import type { TlsCredentials } from '../tls/credentials.js';
import type { Connection } from './connection.js';

export interface TlsFrontendOptions {
  credentials: TlsCredentials;
  /** Node's own handshake timeout: a backstop, the connection's deadline ends the handshake first. */
  handshakeTimeoutMs: number;
  logger: Logger;
  /** The connection a socket handed to accept() belongs to. */
  connectionOf: (socket: net.Socket) => Connection | undefined;
  /** Receives each connection whose handshake (and client certificate check) succeeded. */
  onSecure: (conn: Connection, socket: tls.TLSSocket) => void;
  /** A failed handshake or a refused client certificate (reason `tls`, nothing answered). */
  refused: (event: RefusalEvent) => void;
}

/**
 * The socket a server-side TLSSocket was made over. tls.Server keeps no public link between the
 * two; `_parent` is that link in every Node version since 0.11 (the tests cover it).
 */
function acceptedSocket(socket: tls.TLSSocket): net.Socket | undefined {
  return (socket as tls.TLSSocket & { _parent?: net.Socket })._parent;
}

export class TlsFrontend {
  private readonly server: tls.Server;

  constructor(opts: TlsFrontendOptions) {
    const { credentials, logger } = opts;
    const { verifyClient } = credentials.settings;
    this.server = tls.createServer({
      ...credentials.current,
      handshakeTimeout: opts.handshakeTimeoutMs,
      requestCert: verifyClient,
      // The verdict is ours (below), so that a refused certificate is logged with its reason.
      rejectUnauthorized: false,
    });
    credentials.on('reload', (options) => this.server.setSecureContext(options));
    const connectionOf = (socket: tls.TLSSocket): Connection | undefined => {
      const accepted = acceptedSocket(socket);
      return accepted && opts.connectionOf(accepted);
    };
    this.server.on('secureConnection', (socket) => {
      const conn = connectionOf(socket);
      if (!conn || conn.expired) {
        socket.destroy();
        return;
      }
      if (verifyClient && !socket.authorized) {
        const presented = Object.keys(socket.getPeerCertificate()).length > 0;
        const why = presented ? String(socket.authorizationError) : 'no certificate presented';
        logger.info(`${conn.label}: client certificate refused: ${why}`);
        conn.enter('answered');
        socket.destroy();
        opts.refused({ reason: 'tls', status: 0, peer: conn.peer });
        return;
      }
      logger.debug(`${conn.label}: ${socket.getProtocol() ?? 'TLS'} connection`);
      opts.onSecure(conn, socket);
    });
    this.server.on('tlsClientError', (err: Error & { reason?: string }, socket) => {
      const conn = connectionOf(socket);
      // A connection dropped by its deadline or by shutdown has been logged already.
      if (conn && !conn.expired && conn.stage === 'tls') {
        logger.info(`${conn.label}: TLS handshake failed: ${err.reason ?? err.message.trim()}`);
        conn.enter('answered');
        opts.refused({ reason: 'tls', status: 0, peer: conn.peer });
      }
      socket.destroy();
    });
  }

  /** Takes a connection whose first bytes are a TLS handshake. */
  accept(conn: Connection): void {
    conn.enter('tls');
    this.server.emit('connection', conn.raw);
  }
}
