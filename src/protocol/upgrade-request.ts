// Checking a WebSocket upgrade request before anything acts on it: method, request target, HTTP
// version, Host (RFC 7230 5.4), Upgrade and Connection, Sec-WebSocket-Version and -Key (RFC 6455
// 4.2.1), and whether a request without them may be a legacy Hixie-75/76 handshake. Pure: it
// reads the request's fields and says what to answer; no socket handling here.

import { isIPv6 } from 'node:net';

/** The parts of an http.IncomingMessage the check reads. */
export interface UpgradeRequestFields {
  method?: string | undefined;
  url?: string | undefined;
  httpVersionMajor: number;
  httpVersionMinor: number;
  headers: Record<string, string | string[] | undefined>;
  /** Header names and values as received, duplicates included. */
  rawHeaders: string[];
}

export interface UpgradeCheckOptions {
  /**
   * Legacy protocols are on: requests without Sec-WebSocket-Version and -Key are Hixie-75/76
   * handshakes (checked by hixie.ts), and version 8 (the hybi-08 draft, same framing) is
   * accepted besides 13. Off: only RFC 6455 version 13.
   */
  legacy: boolean;
}

/** What to answer instead of a handshake. */
export interface UpgradeProblem {
  status: 400 | 405 | 426 | 505;
  /** The response body (and log text). */
  message: string;
  headers?: Record<string, string>;
}

/** RFC 3986 host: an IP literal in brackets or a reg-name/IPv4 (unreserved, sub-delims, %HH). */
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
/** Base64 of 16 bytes, as RFC 6455 4.1 item 7 defines the key. */
const KEY = /^[A-Za-z0-9+/]{22}==$/;
/** Origin-form (`/path?query`) or absolute-form with an http(s)/ws(s) scheme. */
const REQUEST_TARGET = /^(?:\/|(?:https?|wss?):\/\/[^/?#]+(?:[/?#]|$))/i;

/** Every value of header `name` (lower case), in order: Node keeps only the first Host. */
function headerValues(req: UpgradeRequestFields, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === name) values.push(req.rawHeaders[i + 1]!);
  }
  return values;
}

/** RFC 7230 5.4 `Host = uri-host [ ":" port ]`, non-empty (RFC 6455 4.1 item 4 needs a host). */
export function isValidHost(value: string): boolean {
  const m = /^(\[[^\]]*\]|[^:[\]]+)(?::(\d{0,5}))?$/.exec(value);
  if (!m) return false;
  const [, host, port] = m;
  if (port !== undefined && port !== '' && Number(port) > 65535) return false;
  if (host!.startsWith('[')) return isIPv6(host!.slice(1, -1));
  return REG_NAME.test(host!);
}

/** True when a comma-separated header holds `token` (case-insensitive), e.g. `keep-alive, Upgrade`. */
export function hasToken(value: string | string[] | undefined, token: string): boolean {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return text.split(',').some((t) => t.trim().toLowerCase() === token);
}

/** The versions we speak, for the 426 answer (RFC 6455 4.4). */
export function supportedVersions(legacy: boolean): string {
  return legacy ? '13, 8' : '13';
}

/**
 * Checks an upgrade request; undefined when it may go on (to the RFC 6455 handshake, or with
 * legacy on and neither version nor key, to the Hixie checks), else what to answer.
 */
export function checkUpgradeRequest(
  req: UpgradeRequestFields,
  options: UpgradeCheckOptions,
): UpgradeProblem | undefined {
  if (req.method !== 'GET') {
    return { status: 405, message: 'A WebSocket upgrade must be a GET', headers: { Allow: 'GET' } };
  }
  // `GET * HTTP/1.1` (asterisk-form) and other targets that are not a resource name.
  if (!REQUEST_TARGET.test(req.url ?? '')) return { status: 400, message: 'Invalid request target for an upgrade' };
  // RFC 6455 4.2.1: HTTP/1.1 or higher. 505 is for a major version we do not speak (RFC 7231
  // 6.6.6: Node's parser passes `HTTP/2.0` in a request line); 1.0 and 0.9 are HTTP/1 requests
  // that cannot upgrade: 400.
  if (req.httpVersionMajor >= 2) {
    return { status: 505, message: `HTTP/${req.httpVersionMajor}.${req.httpVersionMinor} is not supported` };
  }
  if (req.httpVersionMajor < 1 || req.httpVersionMinor < 1) {
    return {
      status: 400,
      message: `A WebSocket upgrade needs HTTP/1.1 or later, got HTTP/${req.httpVersionMajor}.${req.httpVersionMinor}`,
    };
  }
  const hosts = headerValues(req, 'host');
  if (hosts.length === 0) return { status: 400, message: 'Missing Host header' };
  if (hosts.length > 1) return { status: 400, message: 'More than one Host header' };
  if (!isValidHost(hosts[0]!)) return { status: 400, message: 'Invalid Host header' };
  if (!hasToken(req.headers.upgrade, 'websocket')) return { status: 400, message: 'Upgrade header must be websocket' };
  if (!hasToken(req.headers.connection, 'upgrade')) {
    return { status: 400, message: 'Connection header must include Upgrade' };
  }

  const version = req.headers['sec-websocket-version'];
  const key = req.headers['sec-websocket-key'];
  if (options.legacy && version === undefined && key === undefined) return undefined; // Hixie-75/76
  const accepted = options.legacy ? ['13', '8'] : ['13'];
  // Exactly the token: `0xd`, `13.0`, `1.3e1` or `+13` are not 13 (RFC 6455 4.2.1 item 6, 4.4).
  if (typeof version !== 'string' || !accepted.includes(version)) {
    return {
      status: 426,
      message:
        version === undefined
          ? 'Missing Sec-WebSocket-Version header'
          : `Unsupported Sec-WebSocket-Version: ${JSON.stringify(version)}`,
      headers: { 'Sec-WebSocket-Version': supportedVersions(options.legacy) },
    };
  }
  if (typeof key !== 'string' || !KEY.test(key)) {
    return { status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' };
  }
  return undefined;
}
