// Writing a complete, minimal HTTP error response on a raw socket (before or instead of a
// WebSocket upgrade), then closing it. Used wherever no http.ServerResponse exists.

import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';

/** Sends `HTTP/1.1 <status>` with a short plain-text body and closes the socket after it. */
export function writeHttpError(
  socket: Duplex,
  status: number,
  message?: string,
  headers: Record<string, string> = {},
): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = `${message ?? STATUS_CODES[status] ?? 'Error'}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
  // A client that never reads must not keep the socket (and its buffer) forever.
  setTimeout(() => socket.destroy(), 2000).unref();
}
