// Writing a complete, minimal HTTP error response on a raw socket (before or instead of a
// WebSocket upgrade), then closing it. Used wherever no http.ServerResponse exists.

import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';

/**
 * Sends `HTTP/1.1 <status> <reason>` (the standard reason unless given) with `headers` and a
 * short plain-text body, and closes the socket after it.
 */
export function writeHttpError(
  socket: Duplex,
  status: number,
  message?: string,
  headers: Record<string, string> = {},
  reason?: string,
): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const phrase = reason ?? STATUS_CODES[status] ?? 'Error';
  const body = `${message ?? phrase}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${phrase}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
  // A client that never reads must not keep the socket (and its buffer) forever.
  setTimeout(() => socket.destroy(), 2000).unref();
}
