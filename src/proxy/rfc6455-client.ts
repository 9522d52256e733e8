// An RFC 6455 client after the handshake: its socket read into reused buffers and parsed as a
// stream (FrameParser), payload handed to the session piece by piece; each read from the
// target goes out as one frame whose header is written in front of the payload. Pings are
// answered, the closing handshake is ours: the session is finished as soon as the close frames
// have crossed, and the socket is then ended (destroyed if the client never closes its side).

import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { FrameParser } from '../protocol/frame-parser.js';
import {
  encodeClose,
  encodeFrame,
  headerSize,
  OP_BINARY,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  writeHeaderBefore,
} from '../protocol/frame-writer.js';
import type { ClientHandlers, ClientTransport } from './client-transport.js';
import { ReadBuffers, readSocket } from './read-buffers.js';

export interface Rfc6455Options {
  maxMessageSize: number;
  /** How long the client has to answer our close frame, or to close its socket after. */
  closeTimeoutMs: number;
  /** Largest read buffer (bytes of payload per read). */
  maxReadSize: number;
}

const EMPTY = Buffer.alloc(0);
const PING_FRAME = encodeFrame(OP_PING, EMPTY);

export class Rfc6455Client implements ClientTransport {
  private handlers!: ClientHandlers;
  private readonly parser: FrameParser;
  private readonly buffers: ReadBuffers;
  /** Whether the read being parsed lies in the shared buffer. */
  private shared = false;
  private closeSent = false;
  private closeReceived = false;
  /** The code the client sent (or the one we failed it with). */
  private code = 1006;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly head: Buffer,
    private readonly opts: Rfc6455Options,
  ) {
    this.buffers = new ReadBuffers(opts.maxReadSize);
    this.parser = new FrameParser(opts.maxMessageSize, {
      data: (payload, binary, last) => {
        if (!this.closeSent) this.handlers.data(payload, binary, last, this.shared);
      },
      ping: (payload) => {
        if (!this.closeSent) this.socket.write(encodeFrame(OP_PONG, payload));
      },
      pong: () => this.handlers.pong(),
      close: (code, reason) => this.onCloseFrame(code, reason),
      error: (code, reason) => {
        this.handlers.debug(`protocol error: ${reason}`);
        this.code = code;
        this.closeReceived = true; // nothing more is read: do not wait for an answer
        this.close(code, '');
      },
    });
  }

  start(handlers: ClientHandlers): void {
    this.handlers = handlers;
    const socket = this.socket as net.Socket;
    socket.setTimeout?.(0);
    socket.setNoDelay?.(true);
    socket.on('error', (err) => handlers.debug(`client error: ${err.message}`));
    // The client ended its side: nothing more will come. Finish (which ends ours).
    socket.on('end', () => this.finish());
    socket.on('close', () => {
      this.buffers.release();
      this.finish();
    });
    const onRead = (buf: Buffer, start: number, end: number, _room: boolean, shared: boolean): boolean => {
      if (this.finished) return true; // after the close frame everything is discarded
      this.shared = shared;
      this.parser.push(buf.subarray(start, end));
      return this.handlers.readDone() || this.finished;
    };
    let go = true;
    if (this.head.length > 0) go = onRead(this.head, 0, this.head.length, false, false);
    const mode = readSocket(socket, this.buffers, onRead);
    handlers.debug(
      mode === 'buffers' ? 'reading the client into reused buffers' : 'reading the client from data events',
    );
    if (!go) socket.pause();
  }

  send(buf: Buffer, start: number, end: number, room: boolean, text: boolean): void {
    if (this.closeSent) return;
    const length = end - start;
    const opcode = text ? OP_TEXT : OP_BINARY;
    const { socket } = this;
    if (room) {
      socket.write(buf.subarray(writeHeaderBefore(buf, start, opcode, length), end), this.written);
      return;
    }
    const header = Buffer.allocUnsafe(headerSize(length));
    writeHeaderBefore(header, header.length, opcode, length);
    socket.cork();
    socket.write(header);
    socket.write(buf.subarray(start, end), this.written);
    socket.uncork();
  }

  /** After each data write: 'drain' comes only after a write over the socket's high-water mark. */
  private readonly written = (): void => {
    if (this.socket.writableLength === 0) this.handlers.drain();
  };

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  pause(): void {
    this.socket.pause();
  }

  pinRead(): void {
    this.buffers.pin();
  }

  resume(unpin: boolean): void {
    if (unpin) this.buffers.unpin();
    else this.buffers.readWhilePinned();
    if (!this.finished) this.socket.resume();
  }

  ping(written: () => void): void {
    if (!this.closeSent) this.socket.write(PING_FRAME, () => written());
  }

  close(code: number, reason: string): void {
    if (this.closeSent) return;
    this.closeSent = true;
    this.socket.write(encodeClose(code, reason));
    if (this.closeReceived) {
      this.finish();
      return;
    }
    // The answer must be read even if the session had stopped reading.
    this.resume(false);
    this.timer = setTimeout(() => this.socket.destroy(), this.opts.closeTimeoutMs);
  }

  terminate(): void {
    this.socket.destroy();
  }

  private onCloseFrame(code: number, reason: Buffer): void {
    this.closeReceived = true;
    this.code = code;
    if (!this.closeSent) {
      // Echo the code and reason (RFC 6455 5.5.1); an empty close frame answers one without a code.
      this.closeSent = true;
      this.socket.write(encodeClose(code, reason.toString('utf8')));
    }
    this.finish();
  }

  /** The session is done with this client: report once, then close the socket. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    const { socket } = this;
    if (!socket.destroyed) {
      // The close frames have crossed (or the client is gone): end our side now, read and
      // discard until the client closes its side, and drop the socket if it has not after the
      // close timeout.
      if (!socket.writableEnded) socket.end();
      this.timer = setTimeout(() => socket.destroy(), this.opts.closeTimeoutMs);
      socket.once('close', () => clearTimeout(this.timer));
      socket.resume();
    }
    this.handlers.closed(this.closeReceived ? this.code : 1006);
  }
}
