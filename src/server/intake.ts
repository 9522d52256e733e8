// What happens to an accepted connection before HTTP sees it: its first bytes are sniffed
// (sniff.ts) within the handshake deadline, then it is answered with the Flash policy, refused
// (plain under --ssl-only, TLS when there is no certificate, silence), passed to the TLS front
// end, or handed to the HTTP front end as is.

import type net from 'node:net';
import type { Logger } from '../log/logger.js';
import { writeHttpError } from '../protocol/http-response.js';
import { answerPolicyRequest } from './flash-policy.js';
import { sniffConnection, type SniffResult } from './sniff.js';
import type { TlsFrontend } from './tls-frontend.js';

export interface IntakeOptions {
  /** Time from accept to the first bytes and, for TLS, to the end of the handshake. */
  deadlineMs: number;
  /** Where TLS connections go; undefined when TLS is off (TLS clients are then refused). */
  tls: TlsFrontend | undefined;
  /** Refuse plain connections (--ssl-only). */
  sslOnly: boolean;
  /** Answer `<policy-file-request/>` (legacy on); else it goes to HTTP like any other bytes. */
  flashPolicy: boolean;
  logger: Logger;
  /** Receives each plain connection, its first bytes back in place. */
  handOff: (socket: net.Socket, id: number) => void;
}

export class ConnectionIntake {
  /** Sockets accepted and not handed off yet. */
  private readonly pending = new Set<net.Socket>();

  constructor(private readonly opts: IntakeOptions) {}

  /** Takes a freshly accepted socket; `id` numbers it in log lines. */
  accept(socket: net.Socket, id: number): void {
    const label = `${id}: ${socket.remoteAddress ?? 'unknown'}`;
    const onError = (err: Error): void => this.opts.logger.debug(`${label}: socket error: ${err.message}`);
    socket.on('error', onError);
    this.pending.add(socket);
    socket.once('close', () => this.pending.delete(socket));
    void sniffConnection(socket, this.opts.deadlineMs).then((sniffed) => {
      if (socket.destroyed) return;
      const kind = sniffed === 'flash-policy' && !this.opts.flashPolicy ? 'plain' : sniffed;
      if (kind === 'tls' && this.opts.tls) {
        this.pending.delete(socket);
        this.opts.tls.accept(socket, id);
        return;
      }
      if (kind === 'plain' && !this.opts.sslOnly) {
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
    this.opts.tls?.destroyAll();
  }

  private refuse(socket: net.Socket, label: string, kind: SniffResult): void {
    const { logger } = this.opts;
    switch (kind) {
      case 'flash-policy':
        logger.info(`${label}: sending Flash socket policy`);
        answerPolicyRequest(socket, this.opts.deadlineMs);
        return;
      case 'tls':
        logger.info(`${label}: TLS connection refused: no certificate (TLS is off)`);
        break;
      case 'plain':
        logger.info(`${label}: non-TLS connection refused (--ssl-only)`);
        break;
      case 'timeout':
        logger.debug(`${label}: nothing received within ${this.opts.deadlineMs / 1000} s; dropped`);
        // What the HTTP deadline answers too; a TLS-only port owes a silent client nothing.
        if (!this.opts.sslOnly) {
          writeHttpError(socket, 408);
          return;
        }
        break;
      case 'closed':
        break;
    }
    socket.destroy();
  }
}
