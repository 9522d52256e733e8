// What a proxy session needs from its client connection. `ws`'s WebSocket (RFC 6455) has
// exactly this shape; HixieClient gives legacy Hixie-75/76 clients the same one, so both share
// the session's backpressure, close semantics, traffic symbols and recording.

export interface ClientTransport {
  /** A complete message; `isBinary` is false for text. */
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  /** The connection is closed; `code` is the client's close code (1005 none, 1006 vanished). */
  on(event: 'close', listener: (code: number) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'pong', listener: () => void): this;
  off(event: 'pong', listener: () => void): this;
  send(data: Buffer | string): void;
  /** Bytes queued toward the client and not yet written to its socket. */
  readonly bufferedAmount: number;
  /** Stops and restarts reading from the client. */
  pause(): void;
  resume(): void;
  ping(): void;
  /** Starts the closing handshake; 'close' follows once the connection is gone. */
  close(code: number, reason: string): void;
  /** Drops the connection at once. */
  terminate(): void;
}
