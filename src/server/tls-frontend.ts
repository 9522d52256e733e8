// The TLS layer in front of HTTP: a Node tls.Server that never listens itself. Sockets whose
// first byte says TLS are handed to it; it runs the handshake (within the deadline), checks the
// client certificate under --verify-client, and hands the resulting TLSSocket on, so that
// `req.socket.encrypted` and `req.socket.getPeerCertificate()` work downstream. New credentials
// (certificate rotation) apply to the next handshake.

import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import type { TlsCredentials } from '../tls/credentials.js';

export interface TlsFrontendOptions {
  credentials: TlsCredentials;
  /** How long a handshake may stall before the connection is dropped. */
  handshakeTimeoutMs: number;
  logger: Logger;
  /** Receives each connection whose handshake (and client certificate check) succeeded. */
  onSecure: (socket: tls.TLSSocket, id: number) => void;
}

/** The socket pair (raw and TLS) shares this: which connection is which, across the two objects. */
function endpoints(socket: net.Socket): string {
  return `${socket.localAddress}|${socket.localPort}|${socket.remoteAddress}|${socket.remotePort}`;
}

export class TlsFrontend {
  private readonly server: tls.Server;
  /** Sockets in their handshake, with their connection numbers, by their endpoints. */
  private readonly handshaking = new Map<string, { socket: net.Socket; id: number }>();

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
    this.server.on('secureConnection', (socket) => {
      const key = endpoints(socket);
      const id = this.handshaking.get(key)?.id ?? 0;
      if (verifyClient && !socket.authorized) {
        const presented = Object.keys(socket.getPeerCertificate()).length > 0;
        const why = presented ? String(socket.authorizationError) : 'no certificate presented';
        logger.info(`${this.label(socket)}: client certificate refused: ${why}`);
        socket.destroy();
        return;
      }
      logger.debug(`${this.label(socket)}: ${socket.getProtocol() ?? 'TLS'} connection`);
      this.handshaking.delete(key);
      opts.onSecure(socket, id);
    });
    this.server.on('tlsClientError', (err: Error & { reason?: string }, socket) => {
      logger.info(`${this.label(socket)}: TLS handshake failed: ${err.reason ?? err.message.trim()}`);
      socket.destroy();
    });
  }

  /** Takes a socket that starts with a TLS handshake; `id` numbers it in log lines. */
  accept(socket: net.Socket, id: number): void {
    const key = endpoints(socket);
    this.handshaking.set(key, { socket, id });
    socket.once('close', () => this.handshaking.delete(key));
    this.server.emit('connection', socket);
  }

  /** Drops every connection still in its handshake (server shutdown). */
  destroyAll(): void {
    for (const { socket } of this.handshaking.values()) socket.destroy();
    this.handshaking.clear();
  }

  private label(socket: net.Socket): string {
    const id = this.handshaking.get(endpoints(socket))?.id;
    return `${id ?? '-'}: ${socket.remoteAddress ?? 'unknown'}`;
  }
}
