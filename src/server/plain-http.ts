// Answers HTTP requests that are not WebSocket upgrades, with the reference's method table:
// GET and HEAD serve the web root (--web) or get 405 without one; POST, PUT, PATCH, DELETE and
// OPTIONS get 405; other verbs 501. An optional gate (e.g. authentication) runs before files are
// served. Each request is logged at debug, each error response at info, as the reference does.

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import { parseRequestPath } from '../web/request-path.js';
import { createStaticFiles, type WebFailure } from '../web/static-files.js';

/**
 * Runs before a file is served. Resolves true to go on; false when it has answered the request
 * itself (e.g. 401 or 403).
 */
export type RequestGate = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface RequestHandlerOptions {
  /** Absolute web root; without it GET and HEAD get 405. */
  web?: string | undefined;
  /** No directory listings. */
  fileOnly?: boolean;
  logger: Logger;
  gate?: RequestGate;
  /** Who sent a request, for log lines (default: the socket's remote address). */
  peerOf?: (req: IncomingMessage) => string;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const READ_METHODS = new Set(['GET', 'HEAD']);
const REFUSED_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function answerError(res: ServerResponse, failure: WebFailure): void {
  if (res.headersSent) {
    res.destroy(); // failed mid-body: the client sees a truncated response, not a wrong one
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = `${failure.status} ${STATUS_CODES[failure.status] ?? 'Error'}\n`;
  res.writeHead(failure.status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    ...failure.headers,
  });
  res.end(body); // Node sends no body for HEAD
}

export function createRequestHandler(options: RequestHandlerOptions): RequestHandler {
  const { logger, gate } = options;
  const peerOf = options.peerOf ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown');
  const files =
    options.web === undefined ? undefined : createStaticFiles({ root: options.web, fileOnly: !!options.fileOnly });
  const allow = files ? 'GET, HEAD' : '';

  const fail = (req: IncomingMessage, res: ServerResponse, failure: WebFailure): void => {
    logger.info(`${peerOf(req)}: code ${failure.status}, message ${failure.reason}`);
    answerError(res, failure);
  };

  async function serveFiles(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (gate && !(await gate(req, res))) return;
    const target = parseRequestPath(req.url ?? '/');
    const failure = target.kind === 'refused' ? target : await files!(req, res, target);
    if (failure) fail(req, res, failure);
  }

  return (req, res) => {
    res.once('finish', () => {
      if (!logger.verbose) return;
      const length = res.getHeader('Content-Length') ?? '-';
      logger.debug(`${peerOf(req)}: "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${length}`);
    });
    const method = req.method ?? '';
    if (files && READ_METHODS.has(method)) {
      serveFiles(req, res).catch((err: unknown) =>
        fail(req, res, { status: 500, reason: `internal error: ${(err as Error).message}` }),
      );
    } else if (READ_METHODS.has(method) || REFUSED_METHODS.has(method)) {
      const reason = files ? `Method Not Allowed (${method})` : `Method Not Allowed (${method}): no web root`;
      fail(req, res, { status: 405, reason, headers: { Allow: allow } });
    } else {
      fail(req, res, { status: 501, reason: `Unsupported method ('${method}')` });
    }
  };
}
