// A streaming RFC 6455 frame parser for frames from a client (server side). Bytes are pushed
// as they are read; data-frame payload is unmasked in place in the pushed chunk and handed out
// as slices of it, so a message is never assembled. Control frames (at most 125 bytes) are
// collected whole. Every protocol violation ends parsing with the close code it deserves.

import { unmask } from './unmask.js';

export interface FrameEvents {
  /**
   * Payload bytes of a data message: a view into the pushed chunk, valid only during the call
   * (copy what you keep). `last` is true on the message's final bytes (possibly empty).
   */
  data(payload: Buffer, binary: boolean, last: boolean): void;
  ping(payload: Buffer): void;
  pong(payload: Buffer): void;
  /** A close frame: its code (1005 when it has none) and reason bytes (valid UTF-8). */
  close(code: number, reason: Buffer): void;
  /** A protocol violation: the connection must be closed with `code`. Nothing follows. */
  error(code: number, reason: string): void;
}

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** Close codes a peer may put on the wire (RFC 6455 7.4.1 and the IANA registry). */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function isUtf8(bytes: Buffer): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export class FrameParser {
  /** Header bytes collected so far (a header is 2 to 14 bytes and may span chunks). */
  private readonly header = Buffer.alloc(14);
  private headerHave = 0;
  private headerNeed = 2;
  /** Payload bytes of the current frame still to come; -1 while reading a header. */
  private remaining = -1;
  private opcode = 0;
  private fin = false;
  private readonly mask = Buffer.alloc(4);
  /** Position in the mask of the next payload byte. */
  private maskOffset = 0;
  /** Opcode of the data message in progress (text or binary), 0 when none. */
  private message = 0;
  private messageBytes = 0;
  /** A control frame's payload, collected whole. */
  private control: Buffer | undefined;
  private controlHave = 0;
  private failed = false;

  constructor(
    private readonly maxMessageSize: number,
    private readonly events: FrameEvents,
  ) {}

  /** Parses `chunk`, unmasking data payload in place. Stops at the first error or close frame. */
  push(chunk: Buffer): void {
    let at = 0;
    const end = chunk.length;
    while (at < end && !this.failed) {
      if (this.remaining < 0) {
        const take = Math.min(this.headerNeed - this.headerHave, end - at);
        chunk.copy(this.header, this.headerHave, at, at + take);
        this.headerHave += take;
        at += take;
        if (this.headerHave === this.headerNeed) this.onHeaderBytes();
        continue;
      }
      const take = Math.min(this.remaining, end - at);
      this.payload(chunk, at, at + take);
      at += take;
    }
  }

  /** Called whenever the header buffer holds `headerNeed` bytes. */
  private onHeaderBytes(): void {
    const h = this.header;
    if (this.headerNeed === 2) {
      const b0 = h[0]!;
      const b1 = h[1]!;
      if ((b0 & 0x70) !== 0) return this.fail(1002, 'reserved bits set');
      this.fin = (b0 & 0x80) !== 0;
      this.opcode = b0 & 0x0f;
      if ((b1 & 0x80) === 0) return this.fail(1002, 'client frame not masked');
      const len7 = b1 & 0x7f;
      const control = this.opcode >= 0x8;
      if (control) {
        if (this.opcode !== OP_CLOSE && this.opcode !== OP_PING && this.opcode !== OP_PONG) {
          return this.fail(1002, `reserved opcode ${this.opcode}`);
        }
        if (!this.fin) return this.fail(1002, 'fragmented control frame');
        if (len7 > 125) return this.fail(1002, 'control frame payload over 125 bytes');
      } else if (this.opcode === OP_CONTINUATION) {
        if (this.message === 0) return this.fail(1002, 'continuation frame without a message');
      } else if (this.opcode === OP_TEXT || this.opcode === OP_BINARY) {
        if (this.message !== 0) return this.fail(1002, 'new message before the previous one ended');
      } else {
        return this.fail(1002, `reserved opcode ${this.opcode}`);
      }
      this.headerNeed = len7 === 126 ? 8 : len7 === 127 ? 14 : 6;
      if (this.headerHave < this.headerNeed) return;
    }
    const len7 = h[1]! & 0x7f;
    let length: number;
    if (len7 === 126) {
      length = h.readUInt16BE(2);
    } else if (len7 === 127) {
      const high = h.readUInt32BE(2);
      if (high & 0x80000000) return this.fail(1002, '64-bit length with the top bit set');
      // Anything at or over 2^32 is far above any accepted message size.
      if (high !== 0) return this.fail(1009, 'message too big');
      length = h.readUInt32BE(6);
    } else {
      length = len7;
    }
    h.copy(this.mask, 0, this.headerNeed - 4, this.headerNeed);
    this.maskOffset = 0;
    this.headerHave = 0;
    this.headerNeed = 2;
    this.remaining = length;
    if (this.opcode >= 0x8) {
      this.control = Buffer.allocUnsafe(length);
      this.controlHave = 0;
    } else {
      if (this.opcode !== OP_CONTINUATION) {
        this.message = this.opcode;
        this.messageBytes = 0;
      }
      this.messageBytes += length;
      if (this.messageBytes > this.maxMessageSize) return this.fail(1009, 'message too big');
    }
    if (length === 0) this.frameDone(Buffer.alloc(0));
  }

  private payload(chunk: Buffer, from: number, to: number): void {
    const slice = chunk.subarray(from, to);
    unmask(slice, this.mask, this.maskOffset);
    this.maskOffset = (this.maskOffset + slice.length) & 3;
    this.remaining -= slice.length;
    if (this.opcode >= 0x8) {
      slice.copy(this.control!, this.controlHave);
      this.controlHave += slice.length;
      if (this.remaining === 0) this.frameDone(this.control!);
      return;
    }
    if (this.remaining === 0) {
      this.frameDone(slice);
    } else {
      this.events.data(slice, this.message === OP_BINARY, false);
    }
  }

  /** The current frame is complete; `last` is its final payload piece (or the control payload). */
  private frameDone(last: Buffer): void {
    this.remaining = -1;
    const opcode = this.opcode;
    if (opcode < 0x8) {
      const binary = this.message === OP_BINARY;
      if (this.fin) this.message = 0;
      // A fragment's end that is not the message's end carries data only.
      if (this.fin || last.length > 0) this.events.data(last, binary, this.fin);
      return;
    }
    this.control = undefined;
    if (opcode === OP_PING) return this.events.ping(last);
    if (opcode === OP_PONG) return this.events.pong(last);
    // Close: nothing after it is read.
    this.failed = true;
    if (last.length === 0) return this.events.close(1005, last);
    if (last.length === 1) return this.fail(1002, 'close frame with a 1-byte payload', true);
    const code = last.readUInt16BE(0);
    if (!isValidCloseCode(code)) return this.fail(1002, `invalid close code ${code}`, true);
    const reason = last.subarray(2);
    if (!isUtf8(reason)) return this.fail(1007, 'close reason is not valid UTF-8', true);
    this.events.close(code, reason);
  }

  private fail(code: number, reason: string, force = false): void {
    if (this.failed && !force) return;
    this.failed = true;
    this.events.error(code, reason);
  }
}
