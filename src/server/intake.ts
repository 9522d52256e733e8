// What happens to an accepted connection before HTTP sees it: with --proxy-protocol its PROXY
// header is read first (proxy-header.ts), which names the client; then its first bytes are sniffed
// (sniff.ts) within the connection's handshake deadline, then it is answered with the Flash
// policy, refused (plain under --ssl-only, TLS when there is no certificate, silence), passed to
// the TLS front end, or handed to the HTTP front end as is.

import type { Logger } from '../log/logger.js';
import type { RefusalEvent } from '../protocol/refusal-event.js';
import { writeHttpError } from '../protocol/http-response.js';
import type { Connection } from './connection.js';
import { answerPolicyRequest } from './flash-policy.js';
import { applyProxyHeader, readProxyHeader } from './proxy-header.js';
import { sniffConnection, type SniffResult } from './sniff.js';
import type { TlsFrontend } from './tls-frontend.js';

export interface IntakeOptions {
  /** The handshake deadline, for the Flash policy answer's wait for the client to close. */
  deadlineMs: number;
  /** Where TLS connections go; undefined when TLS is off (TLS clients are then refused). */
  tls: TlsFrontend | undefined;
  /** Refuse plain connections (--ssl-only). */
  sslOnly: boolean;
  /** Answer `<policy-file-request/>` (legacy on); else it goes to HTTP like any other bytes. */
  flashPolicy: boolean;
  logger: Logger;
  /** Receives each plain connection, paused, and its first bytes (taken off the socket); it resumes it. */
  handOff: (conn: Connection, first: Buffer) => void;
  /**
   * Read a PROXY protocol header first; `trusts` says whether the sender (the socket's remote
   * address, undefined on a unix socket) may name the client. Undefined: no header expected.
   */
  proxyProtocol?: { trusts: (address: string | undefined) => boolean } | undefined;
  /** A connection closed for a bad PROXY header. */
  onBadHeader?: (conn: Connection) => void;
  /** A TLS client while TLS is off, or a plain one under --ssl-only (reason `tls`). */
  refused: (event: RefusalEvent) => void;
}

export class ConnectionIntake {
  constructor(private readonly opts: IntakeOptions) {}

  /** Takes a freshly accepted connection. */
  accept(conn: Connection): void {
    const socket = conn.raw;
    const onError = (err: Error): void => this.opts.logger.debug(`${conn.label}: socket error: ${err.message}`);
    socket.on('error', onError);
    if (!this.opts.proxyProtocol) {
      this.sniff(conn, onError);
      return;
    }
    const { trusts } = this.opts.proxyProtocol;
    const expire = readProxyHeader(socket, (read) => {
      if (socket.destroyed || read === 'timeout' || read === 'closed') return;
      if (read.kind === 'invalid') {
        this.opts.logger.info(`${conn.label}: bad PROXY protocol header (${read.reason}); closed`);
        conn.enter('answered');
        socket.destroy();
        this.opts.onBadHeader?.(conn);
        return;
      }
      applyProxyHeader(conn, read.header, trusts, this.opts.logger);
      this.sniff(conn, onError);
      socket.resume();
    });
    // The deadline closes the socket: no answer to a peer that sent no PROXY header.
    conn.enter('proxy-header', () => {
      expire();
      socket.destroy();
    });
  }

  private sniff(conn: Connection, onError: (err: Error) => void): void {
    const socket = conn.raw;
    const expire = sniffConnection(socket, (sniffed, first) => {
      // A timeout is answered by the deadline's own action, below.
      if (socket.destroyed || sniffed === 'timeout') return;
      const kind = sniffed === 'flash-policy' && !this.opts.flashPolicy ? 'plain' : sniffed;
      if (kind === 'tls' && this.opts.tls) {
        socket.unshift(first!);
        this.opts.tls.accept(conn);
        return;
      }
      if (kind === 'plain' && !this.opts.sslOnly) {
        socket.off('error', onError);
        this.opts.handOff(conn, first!);
        return;
      }
      this.refuse(conn, kind);
    });
    // The deadline ends sniffing and answers: 408, as the HTTP stage does; a TLS-only port owes
    // a silent client nothing.
    conn.enter('first-bytes', () => {
      expire();
      if (this.opts.sslOnly) {
        socket.destroy();
        return 0;
      }
      writeHttpError(socket, 408);
      return 408;
    });
  }

  private refuse(conn: Connection, kind: Exclude<SniffResult, 'timeout'>): void {
    const { logger } = this.opts;
    const socket = conn.raw;
    conn.enter('answered');
    switch (kind) {
      case 'flash-policy':
        logger.info(`${conn.label}: sending Flash socket policy`);
        answerPolicyRequest(socket, this.opts.deadlineMs);
        return;
      case 'tls':
        logger.info(`${conn.label}: TLS connection refused: no certificate (TLS is off)`);
        this.opts.refused({ reason: 'tls', status: 0, peer: conn.peer });
        break;
      case 'plain':
        logger.info(`${conn.label}: non-TLS connection refused (--ssl-only)`);
        this.opts.refused({ reason: 'tls', status: 0, peer: conn.peer });
        break;
      case 'closed':
        break;
    }
    socket.destroy();
  }
}
