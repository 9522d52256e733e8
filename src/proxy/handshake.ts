// The interface between the proxy core and the two ways a WebSocket handshake completes: RFC
// 6455 (rfc6455-upgrade.ts, which writes the 101 itself) and the legacy Hixie-75/76 drafts
// (hixie-upgrade.ts). The core does what both share (the common request checks, the target
// lookup and authorization, refusals, starting the session); a handler does what only its
// protocol needs, before and after the target is known.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DataEncoding } from '../protocol/subprotocol.js';
import type { ClientTransport } from './client-transport.js';

/** A completed handshake: the client the session runs on. */
export interface HandshakeDone {
  client: ClientTransport;
  /** Completes a handshake that waits for the session's listeners (Hixie); called after start. */
  accept?: () => void;
}

/** A request a handler took for its protocol; the handshake completes once the target is known. */
export interface PendingHandshake {
  /** What the session carries: binary, or base64 text. */
  encoding: DataEncoding;
  /** The legacy protocol (`hixie-76`...) for the verbose open line; undefined for RFC 6455. */
  legacy: string | undefined;
  /** The session may ping the client (Hixie has no ping frame). */
  heartbeat: boolean;
  /**
   * Answers the handshake on the still open socket. Gives the client, or the reason the socket
   * was dropped instead (for the log). Never rejects.
   */
  complete(): HandshakeDone | string | Promise<HandshakeDone | string>;
}

/** Why a handler refuses a request: the 400 response's body. */
export interface HandshakeRefusal {
  refused: string;
}

export interface UpgradeHandler {
  /**
   * Checks the request against this protocol's rules (after the common checks) and starts what
   * must run while the target is looked up.
   */
  begin(req: IncomingMessage, socket: Duplex, head: Buffer): PendingHandshake | HandshakeRefusal;
}
