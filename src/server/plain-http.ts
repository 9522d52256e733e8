// Answers HTTP requests that are not WebSocket upgrades. Until the web server exists, GET and
// HEAD get 405 like the reference without --web; other known methods 405, unknown verbs 501.

import type { IncomingMessage, ServerResponse } from 'node:http';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function handlePlainRequest(req: IncomingMessage, res: ServerResponse): void {
  const status = KNOWN_METHODS.has(req.method ?? '') ? 405 : 501;
  const body =
    status === 405
      ? 'Method Not Allowed: this port serves WebSocket connections\n'
      : `Unsupported method ('${req.method}')\n`;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...(status === 405 ? { Allow: '' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
