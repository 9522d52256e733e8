// Websock: a WebSocket for raw TCP streams through websockify. It negotiates the `binary` or
// legacy `base64` subprotocol, turns every message into bytes on a receive queue (read with the
// rQ* methods, named as in noVNC's Websock), and sends through a send queue that holds data while
// the socket's bufferedAmount is high. It runs on any WebSocket implementation with the standard
// interface: the browser's, or `ws` in Node (see ./node.ts).

import { bytesFromLatin1, decodeBase64, encodeBase64, latin1FromBytes } from './bytes.js';
import { ReceiveQueue } from './receive-queue.js';

/** The stream encoding agreed with the server. */
export type WebsockEncoding = 'binary' | 'base64';

/**
 * The part of the standard WebSocket interface that Websock uses. The browser's WebSocket and
 * the `ws` package both provide it. (Handler parameters are `never` so that implementations with
 * their own event types fit; Websock installs handlers with the shapes it reads.)
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  readonly bufferedAmount: number;
  binaryType: string;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `ws`'s WebSocket in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface WebsockOptions {
  /** The WebSocket class to use. Default: `globalThis.WebSocket` (the Node entry point injects `ws`). */
  WebSocket?: WebSocketConstructor;
  /** Sending pauses while the socket's bufferedAmount is above this many bytes. Default 256 KiB. */
  maxBufferedAmount?: number;
  /** How long a paused flush waits before it looks at bufferedAmount again, in ms. Default 50. */
  flushRetryMs?: number;
  /** Largest message sent at a time; larger sends are split. Default 64 KiB. */
  maxMessageSize?: number;
}

/** Why the connection ended: the WebSocket close code and reason (1000 "Target closed", 1011...). */
export interface WebsockCloseEvent {
  code: number;
  reason: string;
  wasClean: boolean;
}

export interface WebsockErrorEvent {
  message: string;
  /** The underlying event or exception. */
  cause?: unknown;
}

/** Event handlers; `message` is only a notification that the receive queue has new bytes. */
export interface WebsockEvents {
  open: () => void;
  message: () => void;
  close: (event: WebsockCloseEvent) => void;
  error: (event: WebsockErrorEvent) => void;
}

export type WebsockState = 'unused' | 'connecting' | 'open' | 'closing' | 'closed';

const STATES: readonly WebsockState[] = ['connecting', 'open', 'closing', 'closed'];

/**
 * A WebSocket connection to a TCP stream through websockify.
 *
 * @example
 * ```ts
 * const sock = new Websock();
 * sock.on('open', () => sock.send('hello\r\n'));
 * sock.on('message', () => {
 *   // Wait until a whole 4-byte length and its payload are there; messages may split them.
 *   while (!sock.rQwait('record', 4)) {
 *     const length = sock.rQpeek32();
 *     if (sock.rQwait('record body', 4 + length)) break;
 *     sock.rQskipBytes(4);
 *     handleRecord(sock.rQshiftBytes(length));
 *   }
 * });
 * sock.on('close', (e) => console.log(`closed: ${e.code} ${e.reason}`));
 * sock.open('ws://localhost:6080/');
 * ```
 */
export class Websock {
  private readonly WebSocketClass: WebSocketConstructor | undefined;
  private readonly maxBufferedAmount: number;
  private readonly flushRetryMs: number;
  private readonly maxMessageSize: number;
  private readonly handlers: Partial<WebsockEvents> = {};
  private readonly rQ = new ReceiveQueue();
  private sQ: Uint8Array[] = [];
  private sQbytes = 0;
  private socket: WebSocketLike | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private negotiated: WebsockEncoding | undefined;

  constructor(options: WebsockOptions = {}) {
    this.WebSocketClass =
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? undefined;
    this.maxBufferedAmount = options.maxBufferedAmount ?? 256 * 1024;
    this.flushRetryMs = options.flushRetryMs ?? 50;
    this.maxMessageSize = options.maxMessageSize ?? 64 * 1024;
  }

  /** Sets the handler for an event (one per event, replacing any earlier one). */
  on<K extends keyof WebsockEvents>(event: K, handler: WebsockEvents[K]): this {
    this.handlers[event] = handler;
    return this;
  }

  /** Removes the handler for an event. */
  off(event: keyof WebsockEvents): this {
    delete this.handlers[event];
    return this;
  }

  /**
   * Connects. `protocols` is the subprotocol offer, binary first by default; the server's choice
   * decides the encoding (see `encoding`). Queues are emptied first.
   */
  open(url: string, protocols: string | string[] = ['binary', 'base64']): void {
    if (this.socket && this.socket.readyState < 2) throw new Error('Websock is already open or connecting');
    if (!this.WebSocketClass) {
      throw new Error(
        "no WebSocket class: pass one as new Websock({ WebSocket }), or in Node import 'websockify-node/client' (which uses ws)",
      );
    }
    this.stopFlushTimer();
    this.rQ.clear();
    this.sQ = [];
    this.sQbytes = 0;
    this.negotiated = undefined;
    const socket = new this.WebSocketClass(url, protocols);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    // Events of a socket replaced by a later open() are ignored.
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.negotiated = socket.protocol === 'base64' ? 'base64' : 'binary';
      this.handlers.open?.();
      this.flush();
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onclose = (event: { code: number; reason: string; wasClean: boolean }) => {
      if (this.socket !== socket) return;
      this.stopFlushTimer();
      this.handlers.close?.({ code: event.code, reason: event.reason, wasClean: event.wasClean });
    };
    socket.onerror = (event: { message?: unknown; error?: unknown }) => {
      if (this.socket !== socket) return;
      const message = typeof event.message === 'string' && event.message !== '' ? event.message : 'WebSocket error';
      this.handlers.error?.({ message, cause: event.error ?? event });
    };
  }

  /**
   * Closes the connection (default code 1000). Queued data that the socket can take now is sent
   * first; what is still held back by backpressure is dropped.
   */
  close(code?: number, reason?: string): void {
    if (!this.socket || this.socket.readyState >= 2) return;
    this.flush();
    this.stopFlushTimer();
    this.socket.close(code, reason);
  }

  /** The connection state, as in noVNC: unused, connecting, open, closing, closed. */
  get readyState(): WebsockState {
    return this.socket ? STATES[this.socket.readyState]! : 'unused';
  }

  /** The encoding the server chose (known once open). */
  get encoding(): WebsockEncoding | undefined {
    return this.negotiated;
  }

  /** Bytes accepted by the socket but not yet sent on the network. */
  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  // The receive queue.

  /** Bytes in the receive queue. */
  rQlen(): number {
    return this.rQ.length;
  }

  /**
   * True when fewer than `num` bytes are queued, i.e. the caller must wait for more data (the
   * original's semantics). `goback` puts back that many bytes the caller already shifted, so a
   * partly read record is read again from its start next time. `msg` names what is awaited, for
   * debugging.
   */
  rQwait(msg: string, num: number, goback = 0): boolean {
    void msg;
    if (this.rQ.length >= num) return false;
    if (goback > 0) this.rQ.unshift(goback);
    return true;
  }

  rQpeek8(): number {
    return this.rQ.peekUint(1);
  }

  /** The next 16-bit big-endian value, left in the queue. */
  rQpeek16(): number {
    return this.rQ.peekUint(2);
  }

  /** The next 32-bit big-endian value (unsigned), left in the queue. */
  rQpeek32(): number {
    return this.rQ.peekUint(4);
  }

  rQshift8(): number {
    return this.rQ.shiftUint(1);
  }

  /** Removes and returns a 16-bit big-endian value. */
  rQshift16(): number {
    return this.rQ.shiftUint(2);
  }

  /** Removes and returns a 32-bit big-endian value (unsigned). */
  rQshift32(): number {
    return this.rQ.shiftUint(4);
  }

  /** A copy of the next `len` bytes (default: all), left in the queue. */
  rQpeekBytes(len?: number): Uint8Array {
    return this.rQ.peekBytes(len);
  }

  /** Removes and returns the next `len` bytes (default: all). */
  rQshiftBytes(len?: number): Uint8Array {
    return this.rQ.shiftBytes(len);
  }

  /** Removes the next `len` bytes as a string of one character per byte (latin1; default: all). */
  rQshiftStr(len?: number): string {
    return latin1FromBytes(this.rQ.shiftBytes(len));
  }

  /** Drops the next `len` bytes. */
  rQskipBytes(len: number): void {
    this.rQ.skip(len);
  }

  // The send queue.

  /**
   * Queues bytes, or a string of one byte per character (latin1; use TextEncoder for UTF-8), and
   * sends what the socket can take now. Data sent before the connection is open goes out on open.
   */
  send(data: Uint8Array | ArrayLike<number> | string): void {
    const bytes = typeof data === 'string' ? bytesFromLatin1(data) : Uint8Array.from(data);
    if (bytes.length === 0) return;
    this.sQ.push(bytes);
    this.sQbytes += bytes.length;
    this.flush();
  }

  /** Bytes queued and not yet handed to the socket. */
  sQlen(): number {
    return this.sQbytes;
  }

  /**
   * Hands queued bytes to the socket while its bufferedAmount is at most maxBufferedAmount.
   * Returns true when the send queue is empty afterwards; otherwise a later flush is scheduled.
   */
  flush(): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1 || this.negotiated === undefined) return this.sQbytes === 0;
    while (this.sQbytes > 0 && socket.bufferedAmount <= this.maxBufferedAmount) {
      const chunk = this.takeChunk();
      socket.send(this.negotiated === 'base64' ? encodeBase64(chunk) : chunk);
    }
    if (this.sQbytes === 0) return true;
    if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.flush();
      }, this.flushRetryMs);
    }
    return false;
  }

  private takeChunk(): Uint8Array {
    const size = Math.min(this.sQbytes, this.maxMessageSize);
    const chunk = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const head = this.sQ[0]!;
      const n = Math.min(head.length, size - filled);
      chunk.set(head.subarray(0, n), filled);
      filled += n;
      if (n === head.length) this.sQ.shift();
      else this.sQ[0] = head.subarray(n);
    }
    this.sQbytes -= size;
    return chunk;
  }

  private receive(data: unknown): void {
    let bytes: Uint8Array;
    if (typeof data === 'string') {
      try {
        bytes = decodeBase64(data);
      } catch (cause) {
        this.handlers.error?.({ message: 'invalid base64 text message from the server', cause });
        this.close(1007, 'Invalid base64 payload');
        return;
      }
    } else if (data instanceof ArrayBuffer) {
      bytes = new Uint8Array(data);
    } else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else {
      this.handlers.error?.({ message: 'unexpected message type (binaryType must be arraybuffer)', cause: data });
      return;
    }
    this.rQ.push(bytes);
    if (this.rQ.length > 0) this.handlers.message?.();
  }

  private stopFlushTimer(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }
}
