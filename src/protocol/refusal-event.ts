// The argument of the servers' 'refused' event: why a connection was turned away before its
// session started, the HTTP status it was sent, and who it was. Shared by the proxy core and the
// standalone server (which also refuses at accept) and read by the metrics.

/**
 * Why a connection was turned away before its session started: `bad-handshake` (not a valid
 * WebSocket upgrade), `token` (the target resolver refused: no token, unknown token, lookup
 * failed), `auth` (the auth plugin refused), `origin` (refused for its Origin header),
 * `limit` (a connection limit), `draining` (the server is stopping), `fd-limit` (no file
 * descriptors left), `tls` (TLS failed or is refused: a failed handshake, a refused client
 * certificate, a TLS client while TLS is off, a plain one under --ssl-only), `timeout` (the
 * handshake deadline passed before a request arrived).
 */
export type RefusalReason =
  'bad-handshake' | 'token' | 'auth' | 'limit' | 'draining' | 'fd-limit' | 'origin' | 'tls' | 'timeout';

/** The `'refused'` event's argument. */
export interface RefusalEvent {
  reason: RefusalReason;
  /** The HTTP status sent; 0 when the socket was just closed. */
  status: number;
  /** The connection's peer label (an address, `unix:PATH`, or `unknown`). */
  peer: string;
}
