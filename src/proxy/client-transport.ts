// What a proxy session needs from its client connection, whatever its framing: RFC 6455
// (Rfc6455Client, our own framing after `ws`'s handshake) or legacy Hixie-75/76 (HixieClient).
// Payload arrives in pieces as it is read, not as whole messages; what is sent to the client is
// one read from the target at a time. Both share the session's backpressure, close semantics,
// traffic symbols and recording.

export interface ClientHandlers {
  /**
   * Payload bytes of a client message, unmasked: valid only during the call (copy to keep);
   * `shared` means they lie in a buffer other sockets read into, so even a pending write must
   * be a copy. `last` marks the message's final piece (possibly empty).
   */
  data(payload: Buffer, binary: boolean, last: boolean, shared: boolean): void;
  /**
   * All pieces of one read were delivered; return false to stop reading until resume(). Call
   * pinRead() first if some of its bytes are still queued (not copied) toward the target.
   */
  readDone(): boolean;
  /** A pong (an answer to ping()). */
  pong(): void;
  /** The client is finished: close handshake complete (its code; 1005 none) or gone (1006). */
  closed(code: number): void;
  /** Something to log at debug level (socket errors, protocol violations, how it reads). */
  debug(message: string): void;
  /** Everything queued toward the client was written. */
  drain(): void;
}

export interface ClientTransport {
  /** Starts reading and delivering to `handlers`. */
  start(handlers: ClientHandlers): void;
  /**
   * Sends bytes [start, end) of `buf` (read from the target) as one message, text or binary.
   * `room` means the HEADROOM bytes in front of `start` may be written into.
   */
  send(buf: Buffer, start: number, end: number, room: boolean, text: boolean): void;
  /** Bytes queued toward the client and not yet taken by its socket. */
  readonly bufferedAmount: number;
  /** During readDone(): the read buffer holds bytes still queued; it is not reused until unpinned. */
  pinRead(): void;
  /** Stops reading the client. */
  pause(): void;
  /**
   * Reads again. `unpin` says the session's writes from the last read buffer completed; without
   * it (a probe while those writes wait) reads go to another buffer.
   */
  resume(unpin: boolean): void;
  /** Sends a ping; `written` is called once the socket has taken it (never, for Hixie). */
  ping(written: () => void): void;
  /** Starts the closing handshake after everything queued; closed() follows. */
  close(code: number, reason: string): void;
  /** Drops the connection at once. */
  terminate(): void;
}
