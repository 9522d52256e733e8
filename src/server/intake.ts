// What happens to an accepted connection before HTTP sees it: its first bytes are sniffed
// (sniff.ts) within the handshake deadline, then it is answered with the Flash policy, refused
// (plain under --ssl-only, TLS without a certificate, a client certificate that does not
// verify), or handed to the HTTP front end as is (plain) or as a TLSSocket once the TLS
// handshake is done, so `req.socket.encrypted` and `getPeerCertificate()` work downstream.

import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import { writeHttpError } from '../protocol/http-response.js';
import type { ServerContextSource } from '../tls/server-context.js';
import { answerPolicyRequest } from './flash-policy.js';
import { sniffConnection, type SniffResult } from './sniff.js';

export interface IntakeOptions {
  /** Time from accept to the first bytes and, for TLS, to the end of the handshake. */
  deadlineMs: number;
  /** TLS credentials; undefined when TLS is off (TLS clients are then refused). */
  tls: ServerContextSource | undefined;
  logger: Logger;
  /** Receives each connection ready for HTTP: the accepted socket, or its TLSSocket. */
  handOff: (socket: net.Socket, id: number) => void;
}

export class ConnectionIntake {
  /** Sockets accepted and not handed off yet. */
  private readonly pending = new Set<net.Socket>();

  constructor(private readonly opts: IntakeOptions) {}

  /** Takes a freshly accepted socket; `id` numbers it in log lines. */
  accept(socket: net.Socket, id: number): void {
    const label = `${id}: ${socket.remoteAddress ?? 'unknown'}`;
    const deadline = Date.now() + this.opts.deadlineMs;
    const onError = (err: Error): void => this.opts.logger.debug(`${label}: socket error: ${err.message}`);
    socket.on('error', onError);
    this.pending.add(socket);
    socket.once('close', () => this.pending.delete(socket));
    void sniffConnection(socket, this.opts.deadlineMs).then((kind) => {
      if (socket.destroyed) return;
      if (kind === 'tls') {
        this.startTls(socket, id, label, deadline);
        return;
      }
      if (kind === 'plain' && !this.opts.tls?.settings.sslOnly) {
        this.pending.delete(socket);
        socket.off('error', onError);
        this.opts.handOff(socket, id);
        // The bytes sniffed wait in the socket's buffer; HTTP's data listener reads them now.
        socket.resume();
        return;
      }
      this.refuse(socket, label, kind);
    });
  }

  /** Drops every connection that has not reached HTTP yet (server shutdown). */
  destroyAll(): void {
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
  }

  private refuse(socket: net.Socket, label: string, kind: Exclude<SniffResult, 'tls'>): void {
    const { logger } = this.opts;
    switch (kind) {
      case 'flash-policy':
        logger.info(`${label}: sending Flash socket policy`);
        answerPolicyRequest(socket, this.opts.deadlineMs);
        return;
      case 'plain':
        logger.info(`${label}: non-TLS connection refused (--ssl-only)`);
        break;
      case 'timeout':
        logger.debug(`${label}: nothing received within ${this.opts.deadlineMs / 1000} s; dropped`);
        // What the HTTP deadline answers too; a TLS-only port owes a silent client nothing.
        if (!this.opts.tls?.settings.sslOnly) {
          writeHttpError(socket, 408);
          return;
        }
        break;
      case 'closed':
        break;
    }
    socket.destroy();
  }

  private startTls(socket: net.Socket, id: number, label: string, deadline: number): void {
    const { logger } = this.opts;
    const source = this.opts.tls;
    if (!source) {
      logger.info(`${label}: TLS connection refused: no certificate (TLS is off)`);
      socket.destroy();
      return;
    }
    const { verifyClient } = source.settings;
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: source.current,
      requestCert: verifyClient,
      rejectUnauthorized: verifyClient,
    });
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      logger.info(`${label}: TLS handshake failed: ${why}`);
      secure.destroy();
      socket.destroy();
    };
    const timer = setTimeout(() => fail('not completed within the handshake deadline'), deadline - Date.now());
    // Stays attached: errors after the hand-off are the HTTP front end's, and are ignored here.
    secure.on('error', (err: Error & { reason?: string }) => fail(err.reason ?? err.message.trim()));
    secure.once('secure', () => {
      // A TLSSocket made by hand (not by tls.Server) leaves the client-certificate verdict to us.
      if (verifyClient && !secure.authorized) {
        fail(`client certificate refused: ${String(secure.authorizationError)}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      this.pending.delete(socket);
      logger.debug(`${label}: ${secure.getProtocol() ?? 'TLS'} connection`);
      this.opts.handOff(secure, id);
    });
  }
}
