// --web-auth: the auth plugin as the web server's request gate, so GET and HEAD of static
// files need the same credentials as a WebSocket upgrade. A refusal is answered here with
// the plugin's status, reason phrase and headers (e.g. 401 with WWW-Authenticate).

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { UpgradeRefused } from '../errors/upgrade-refused.js';
import type { Logger } from '../log/logger.js';
import type { AuthPlugin } from './auth-plugin.js';
import { authorize } from './authorize.js';

/** Resolves true to let a web request through; false once it has been answered with a refusal. */
export type AuthGate = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function authGate(plugin: AuthPlugin, logger: Logger): AuthGate {
  return async (req, res) => {
    try {
      await authorize(plugin, req, undefined);
      return true;
    } catch (err) {
      const refusal = err as UpgradeRefused; // authorize() rejects with nothing else
      logger.info(
        `${req.socket.remoteAddress}: refused ${req.method} ${req.url}: ${refusal.status} ${refusal.logMessage}`,
      );
      const body = `${refusal.message}\n`;
      res.writeHead(refusal.status, refusal.reason ?? STATUS_CODES[refusal.status] ?? 'Error', {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        ...refusal.headers,
      });
      res.end(body);
      return false;
    }
  };
}
