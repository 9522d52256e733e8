// Who a request is from, and whether an upgrade may go on to the proxy core. The client is the
// connection's peer (the socket's, or a PROXY header's), or the one a trusted proxy's
// X-Forwarded-For names; it is recorded on the request for auth and token plugins. An upgrade
// is then refused with 503 while the server drains, and with 503 and Retry-After over the
// connection limits (counted here, or by a cluster primary for all its workers); each refusal
// is logged and reported as a 'refused' event.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { recordClientAddress } from '../protocol/client-address.js';
import type { RefusalEvent } from '../protocol/refusal-event.js';
import { writeHttpError } from '../protocol/http-response.js';
import type { Connection } from './connection.js';
import { DRAIN_RETRY_AFTER } from './health.js';
import { ConnectionLimits, type LimitKeeper } from './limits.js';
import type { TrustedProxies } from './trusted-proxies.js';

/** What a client over a connection limit is told to wait before trying again (seconds). */
export const LIMIT_RETRY_AFTER = '5';

export interface AdmissionOptions {
  /** Whose X-Forwarded-For is read; undefined: nobody's. */
  trusted: TrustedProxies | undefined;
  maxConnections: number;
  maxConnectionsPerIp: number;
  logger: Logger;
  /** True while the server drains. */
  draining: () => boolean;
  refused: (event: RefusalEvent) => void;
}

export class Admission {
  private readonly limits: ConnectionLimits;
  private keeper: LimitKeeper;

  constructor(private readonly opts: AdmissionOptions) {
    this.limits = new ConnectionLimits(opts.maxConnections, opts.maxConnectionsPerIp);
    this.keeper = this.limits;
  }

  /**
   * The client of `req` on `conn`: its peer label (`192.0.2.7`, `192.0.2.7:51000` from a PROXY
   * header, `unix:PATH`) and address (for the per-address limit), recorded on the request.
   */
  clientOf(req: IncomingMessage, conn: Connection | undefined): { peer: string; address: string } {
    const connPeer = conn?.peer ?? req.socket.remoteAddress ?? 'unknown';
    const connAddress = conn ? conn.address : req.socket.remoteAddress;
    const forwarded = this.opts.trusted?.forwardedClient(connAddress ?? connPeer, req.headers['x-forwarded-for']);
    if (forwarded !== undefined) {
      recordClientAddress(req, forwarded);
      return { peer: forwarded, address: forwarded };
    }
    if (connAddress !== undefined && connAddress !== req.socket.remoteAddress) recordClientAddress(req, connAddress);
    return { peer: connPeer, address: connAddress ?? connPeer };
  }

  /**
   * Counts through `keeper` from now on instead of this process's own limits: a cluster
   * worker's primary keeps one count for every worker (cluster/shared-limits.ts). It is asked
   * only while a limit is set.
   */
  shareLimits(keeper: LimitKeeper): void {
    this.keeper = keeper;
  }

  /**
   * Checks an upgrade on `conn` before it goes to the proxy core, and calls `admitted` with the
   * peer label to proxy it under; a refused upgrade is answered and closed here instead. With
   * shared limits the answer comes later (the socket holds the client's bytes meanwhile).
   */
  admitUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    conn: Connection | undefined,
    admitted: (peer: string) => void,
  ): void {
    const { peer, address } = this.clientOf(req, conn);
    const label = conn ? `${conn.id}: ${peer}` : peer;
    if (this.opts.draining()) {
      this.opts.logger.info(`${label}: refused upgrade: 503 the server is draining`);
      writeHttpError(socket, 503, 'Server is draining', { 'Retry-After': DRAIN_RETRY_AFTER });
      this.opts.refused({ reason: 'draining', status: 503, peer });
      return;
    }
    if (!this.limits.active) {
      admitted(peer);
      return;
    }
    this.keeper.admit(address, (verdict) => {
      if (typeof verdict === 'function') {
        // Gone while the count was asked for (shared limits): give the place back.
        if (socket.destroyed || conn?.expired) verdict();
        else {
          socket.once('close', verdict);
          admitted(peer);
        }
        return;
      }
      const { maxConnections, maxConnectionsPerIp } = this.opts;
      const why =
        verdict === 'total'
          ? `${maxConnections} connections open (the limit)`
          : `${maxConnectionsPerIp} connections open from ${address} (the per-address limit)`;
      this.opts.logger.info(`${label}: refused upgrade: 503 ${why}`);
      writeHttpError(socket, 503, 'Too many connections', { 'Retry-After': LIMIT_RETRY_AFTER });
      this.opts.refused({ reason: 'limit', status: 503, peer });
    });
  }
}
