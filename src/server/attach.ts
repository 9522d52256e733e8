// Mounting the proxy on an application's own http/https server (Express, Fastify, plain Node):
// upgrade requests on the chosen path become proxy sessions; other requests are left alone, and
// so are upgrades on other paths when the application listens for upgrades itself (else they get
// 400: with any 'upgrade' listener, Node no longer destroys upgrades nobody takes).

import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { StandaloneOnlyKey } from '../config/option-table.js';
import { resolveOptions, type WebsockifyOptions } from '../config/options.js';
import { writeHttpError } from '../protocol/http-response.js';
import { ProxyCore } from '../proxy/proxy.js';

/** The options of a standalone server, less those its own listener and lifetime would use. */
export interface AttachOptions extends Omit<WebsockifyOptions, StandaloneOnlyKey> {
  /**
   * Only upgrades whose path (without the query) equals this are proxied. Upgrades on other
   * paths are left to the server's other 'upgrade' listeners when it has any, else answered
   * with 400 and closed. Default: every upgrade.
   */
  path?: string;
}

export interface AttachedWebsockify {
  /** Live WebSocket sessions. */
  readonly sessionCount: number;
  /** Stops taking upgrades and closes every session with 1001 "Going away". */
  close(): Promise<void>;
}

export function attachWebsockify(server: http.Server, options: AttachOptions): AttachedWebsockify {
  const { path, ...rest } = options;
  const o = resolveOptions(rest);
  const core = new ProxyCore(o); // ResolvedOptions carries every ProxyCore option
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (path !== undefined && (req.url ?? '/').split('?')[0] !== path) {
      // Someone else's to answer, if there is anyone; never a socket left open for nobody.
      if (server.listenerCount('upgrade') <= 1) writeHttpError(socket, 400, `No WebSocket endpoint at this path`);
      return;
    }
    core.handleUpgrade(req, socket, head);
  };
  server.on('upgrade', onUpgrade);
  return {
    get sessionCount() {
      return core.sessionCount;
    },
    close: async () => {
      server.off('upgrade', onUpgrade);
      await core.shutdown();
    },
  };
}
