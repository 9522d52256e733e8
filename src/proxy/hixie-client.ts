// A legacy Hixie-75/76 client on its socket: answering the handshake (hixie-upgrade.ts read
// what it needs), and then a ClientTransport over the Hixie framing, so that the ordinary
// ProxySession (backpressure, close semantics, recording) serves it. Hixie carries text only:
// sessions use the base64 encoding, as the reference's Hixie support did.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  encodeHixieFrame,
  HIXIE_CLOSE_FRAME,
  HixieFrameParser,
  hixieResponse,
  type HixieVersion,
} from '../protocol/hixie.js';
import type { ClientHandlers, ClientTransport } from './client-transport.js';

export interface HixieHandshakeBytes {
  /** Hixie-76 key3 (empty for Hixie-75). */
  key3: Buffer;
  /** Bytes after it: the client's first frames, if it did not wait for the response. */
  rest: Buffer;
}

export interface HixieClientOptions {
  /** Largest data frame accepted from the client (its base64 text), in bytes. */
  maxMessageSize: number;
  /** How long the client has to close its side after the proxy's close frame. */
  closeTimeoutMs: number;
}

/** A Hixie connection after the handshake, as a ClientTransport for ProxySession. */
export class HixieClient implements ClientTransport {
  private readonly parser: HixieFrameParser;
  private handlers!: ClientHandlers;
  private closeSent = false;
  private closeReceived = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private accepted: (() => void) | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly opts: HixieClientOptions,
  ) {
    this.parser = new HixieFrameParser(opts.maxMessageSize, {
      onText: (text) => {
        if (!this.closeReceived) this.handlers.data(text, false, true, false);
      },
      onClose: () => {
        this.closeReceived = true;
        this.close();
      },
      onError: (reason) => {
        this.handlers.debug(`Hixie framing: ${reason}`);
        this.close();
      },
    });
  }

  /** Sends the 101 response; reading starts when the session starts (`rest` first). */
  accept(req: IncomingMessage, version: HixieVersion, bytes: HixieHandshakeBytes): void {
    const { socket } = this;
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    req.socket.setTimeout(0);
    socket.write(hixieResponse(req, version, secure, bytes.key3));
    this.accepted = () => {
      if (bytes.rest.length > 0) this.onChunk(bytes.rest);
      socket.resume();
    };
    if (this.handlers) this.accepted();
  }

  start(handlers: ClientHandlers): void {
    this.handlers = handlers;
    const { socket } = this;
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    // The client vanished or half-closed without a close frame: nothing more will come.
    socket.on('end', () => socket.end());
    socket.on('error', (err) => handlers.debug(`client error: ${err.message}`));
    socket.on('close', () => {
      clearTimeout(this.closeTimer);
      handlers.closed(this.closeReceived ? 1005 : 1006);
    });
    this.accepted?.();
  }

  private onChunk(chunk: Buffer): void {
    this.parser.push(chunk);
    if (!this.handlers.readDone()) this.socket.pause();
  }

  /** Sends one text frame (the session's base64 text). */
  send(buf: Buffer, start: number, end: number): void {
    if (this.closeSent) return;
    this.socket.write(encodeHixieFrame(buf.toString('latin1', start, end)), () => {
      if (this.socket.writableLength === 0) this.handlers.drain();
    });
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** Chunks come from `data` events, never from a shared buffer: nothing to pin. */
  pinRead(): void {}

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Hixie has no ping frame: nothing is sent (Hixie sessions run without a heartbeat). */
  ping(): void {}

  /** Hixie close frames carry no code or reason: sends `0xFF 0x00` after queued data, then ends. */
  close(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    if (!this.socket.writableEnded) this.socket.end(HIXIE_CLOSE_FRAME);
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.opts.closeTimeoutMs);
  }

  terminate(): void {
    this.socket.destroy();
  }
}
