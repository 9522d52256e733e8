// Subprotocol negotiation. `binary` is preferred; the legacy `base64` encoding is still served
// for old clients; no offer at all means binary. Unlike the reference, offers are trimmed, so
// `base64, binary` selects binary instead of failing with 400.

export type DataEncoding = 'binary' | 'base64';

export type SubprotocolChoice =
  { ok: true; encoding: DataEncoding; protocol: DataEncoding | undefined } | { ok: false; reason: string };

/**
 * Chooses the subprotocol for a `Sec-WebSocket-Protocol` header value (undefined when absent).
 * `protocol` is what the 101 response echoes; undefined when the client offered nothing.
 */
export function selectSubprotocol(header: string | undefined): SubprotocolChoice {
  if (header === undefined) return { ok: true, encoding: 'binary', protocol: undefined };
  const offered = header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (offered.length === 0) return { ok: true, encoding: 'binary', protocol: undefined };
  if (offered.includes('binary')) return { ok: true, encoding: 'binary', protocol: 'binary' };
  if (offered.includes('base64')) return { ok: true, encoding: 'base64', protocol: 'base64' };
  return {
    ok: false,
    reason: `Client must support 'binary' or 'base64' protocol (offered: ${offered.join(', ')})`,
  };
}
