// --web-auth: the auth plugin as the web server's request gate, so GET and HEAD of static
// files need the same credentials as a WebSocket upgrade. A refusal is answered here with
// the plugin's status, reason phrase and headers (e.g. 401 with WWW-Authenticate).

import { STATUS_CODES } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { UpgradeRefused } from '../errors/upgrade-refused.js';
import type { RequestGate } from '../server/plain-http.js';
import type { AuthPlugin } from './auth-plugin.js';
import { authorize } from './authorize.js';

export function authGate(plugin: AuthPlugin, logger: Logger): RequestGate {
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
