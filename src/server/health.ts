// The health check and the draining answer for plain HTTP requests. GET or HEAD of /healthz
// (any query) answers 200 "ok", or 503 "draining" once a drain started, with or without a web
// root, before any --web-auth gate (a load balancer has no credentials), and is logged only
// with -v. While draining every other request gets 503 and its connection is closed.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { RequestHandler } from './plain-http.js';

export const HEALTH_PATH = '/healthz';
/** What a client refused because of a drain is told to wait before trying again (seconds). */
export const DRAIN_RETRY_AFTER = '1';

/** Whether `req` asks for the health check. */
export function isHealthCheck(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return (query === -1 ? url : url.slice(0, query)) === HEALTH_PATH;
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body); // Node sends no body for HEAD
}

export interface HealthOptions {
  /** True while the server drains. */
  draining: () => boolean;
  logger: Logger;
  /** Who sent a request, for the -v line. */
  peerOf: (req: IncomingMessage) => string;
}

/** `handler` behind the health check and the draining refusal. */
export function withHealth(handler: RequestHandler, opts: HealthOptions): RequestHandler {
  return (req, res) => {
    const draining = opts.draining();
    if (isHealthCheck(req)) {
      if (opts.logger.verbose) {
        opts.logger.debug(`${opts.peerOf(req)}: "${req.method} ${req.url}" health check: ${draining ? 503 : 200}`);
      }
      if (draining) answer(res, 503, 'draining\n', { Connection: 'close' });
      else answer(res, 200, 'ok\n');
      return;
    }
    if (draining) {
      opts.logger.debug(`${opts.peerOf(req)}: "${req.method} ${req.url}" refused: draining`);
      answer(res, 503, 'Server is draining\n', { Connection: 'close', 'Retry-After': DRAIN_RETRY_AFTER });
      return;
    }
    handler(req, res);
  };
}
