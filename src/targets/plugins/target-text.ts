// Reading a target written as text by token sources: `host:port` split on the last colon
// (so `::1:5900` works), `[::1]:5900`, and the reference's `unix_socket:/path`. Also the
// two-field form (host, port) that JSON and JWT sources carry.

import type { TargetSpec } from '../target.js';

const UNIX_PREFIX = 'unix_socket:';

/** A port as a whole number in 1-65535, from a string or a number; undefined otherwise. */
function portNumber(port: unknown): number | undefined {
  const text = typeof port === 'number' ? String(port) : typeof port === 'string' ? port.trim() : '';
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `host` and `port` fields (port as number or string); host `unix_socket` makes port the path. */
export function targetFromFields(host: unknown, port: unknown): TargetSpec | undefined {
  if (typeof host !== 'string' || host === '') return undefined;
  if (host === 'unix_socket') {
    return typeof port === 'string' && port !== '' ? { kind: 'unix', path: port } : undefined;
  }
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const n = portNumber(port);
  return n === undefined || bare === '' ? undefined : { kind: 'tcp', host: bare, port: n };
}

/** `host:port`, `[v6]:port`, `v6:port` or `unix_socket:/path`, surrounding whitespace ignored. */
export function parseTargetText(text: string): TargetSpec | undefined {
  const t = text.trim();
  if (t.startsWith(UNIX_PREFIX)) return targetFromFields('unix_socket', t.slice(UNIX_PREFIX.length));
  const colon = t.lastIndexOf(':');
  if (colon === -1) return undefined;
  return targetFromFields(t.slice(0, colon), t.slice(colon + 1));
}
