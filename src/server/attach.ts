// Mounting the proxy on an application's own http/https server (Express, Fastify, plain Node):
// upgrade requests on the chosen path become proxy sessions; other requests are left alone, and
// so are upgrades on other paths when the application listens for upgrades itself (else they get
// 400: with any 'upgrade' listener, Node no longer destroys upgrades nobody takes). What it
// returns passes on the proxy core's events, as a standalone server does.

import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { StandaloneOnlyKey } from '../config/option-table.js';
import { resolveOptions, type WebsockifyOptions } from '../config/options.js';
import { writeHttpError } from '../protocol/http-response.js';
import { ProxyCore, type ProxyCoreEvents } from '../proxy/proxy.js';
import { ConnectionRegistry } from './connection.js';

/** The options of a standalone server, less those its own listener and lifetime would use. */
export interface AttachOptions extends Omit<WebsockifyOptions, StandaloneOnlyKey> {
  /**
   * Only upgrades whose path (without the query) equals this are proxied. Upgrades on other
   * paths are left to the server's other 'upgrade' listeners when it has any, else answered
   * with 400 and closed. Default: every upgrade.
   */
  path?: string;
}

/**
 * The proxy mounted on an application's server. Its events are a standalone server's:
 * `upgrade`, `target-connect`, `session-end` (SessionStats) and `refused` (RefusalEvent).
 */
export interface AttachedWebsockify extends EventEmitter<ProxyCoreEvents> {
  /** Live WebSocket sessions. */
  readonly sessionCount: number;
  /** Stops taking upgrades and closes every session with 1001 "Going away". */
  close(): Promise<void>;
}

class Attached extends EventEmitter<ProxyCoreEvents> implements AttachedWebsockify {
  private readonly core: ProxyCore;
  /** The application's server read the request: each upgrade is recorded in the 'proxy' stage. */
  private readonly connections: ConnectionRegistry;
  private readonly onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

  constructor(
    private readonly server: http.Server,
    options: AttachOptions,
  ) {
    super();
    const { path, ...rest } = options;
    const o = resolveOptions(rest);
    const core = new ProxyCore(o); // ResolvedOptions carries every ProxyCore option
    const connections = new ConnectionRegistry({ deadlineMs: o.handshakeTimeoutMs, logger: o.logger });
    this.connections = connections;
    for (const event of ['upgrade', 'target-connect', 'session-end'] as const) {
      core.on(event, (stats) => this.emit(event, stats));
    }
    core.on('refused', (refusal) => this.emit('refused', refusal));
    this.core = core;
    this.onUpgrade = (req, socket, head) => {
      if (path !== undefined && (req.url ?? '/').split('?')[0] !== path) {
        // Someone else's to answer, if there is anyone; never a socket left open for nobody.
        if (server.listenerCount('upgrade') <= 1) {
          writeHttpError(socket, 400, `No WebSocket endpoint at this path`);
          this.emit('refused', { reason: 'bad-handshake', status: 400, peer: req.socket.remoteAddress ?? 'unknown' });
        }
        return;
      }
      const bound = server.address();
      if (typeof bound === 'string') connections.unixPeer = `unix:${bound}`;
      const conn = connections.accept(req.socket, core.allocateId());
      conn.enter('proxy');
      core.handleUpgrade(req, socket, head, conn);
    };
    server.on('upgrade', this.onUpgrade);
  }

  get sessionCount(): number {
    return this.core.sessionCount;
  }

  async close(): Promise<void> {
    this.server.off('upgrade', this.onUpgrade);
    this.connections.destroy(); // upgrades still in their handshake
    await this.core.shutdown();
  }
}

export function attachWebsockify(server: http.Server, options: AttachOptions): AttachedWebsockify {
  return new Attached(server, options);
}
