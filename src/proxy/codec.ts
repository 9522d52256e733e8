// Payload encodings between the WebSocket client and the raw TCP stream, per session. `binary`
// passes bytes through as binary messages (text messages are refused with 1003, as the
// reference does); legacy `base64` sends base64 text messages to the client and decodes base64
// from it (text or binary frames, as old clients used both), streaming: a message is decoded
// as its pieces arrive, 4-character groups may span pieces, and whitespace is ignored.

import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import type { DataEncoding } from '../protocol/subprotocol.js';
import { HEADROOM } from './read-buffers.js';

export interface DecodeFailure {
  code: number;
  reason: string;
}

export interface Codec {
  /** Whether messages to the client are text. */
  readonly text: boolean;
  /**
   * Bytes for the target from one piece of a client message: the piece itself (binary), a new
   * buffer (decoded base64, possibly empty), or the close code the message deserves.
   */
  fromClient(payload: Buffer, binary: boolean, last: boolean): Buffer | DecodeFailure;
  /**
   * The message payload for bytes [start, end) read from the target: undefined to send them as
   * they are, else a new buffer with HEADROOM free bytes in front of the payload.
   */
  toClient(buf: Buffer, start: number, end: number): Buffer | undefined;
}

const textRefused: DecodeFailure = { code: CloseCode.unsupportedData, reason: CloseReason.textUnsupported };
const badBase64: DecodeFailure = { code: CloseCode.invalidPayload, reason: CloseReason.badBase64 };

const binaryCodec: Codec = {
  text: false,
  fromClient: (payload, binary) => (binary ? payload : textRefused),
  toClient: () => undefined,
};

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** What `\s` matches among Latin-1 characters (the old whole-message decoder's rule). */
const SPACE = /[\t\n\v\f\r \xa0]/g;
const EMPTY = Buffer.alloc(0);

class Base64Codec implements Codec {
  readonly text = true;
  /** Characters of an incomplete 4-character group, carried to the next piece. */
  private carry = '';
  /** The message's padding was seen: nothing may follow it. */
  private padded = false;

  fromClient(payload: Buffer, _binary: boolean, last: boolean): Buffer | DecodeFailure {
    let text = payload.toString('latin1');
    SPACE.lastIndex = 0;
    if (SPACE.test(text)) text = text.replace(SPACE, '');
    text = this.carry + text;
    if ((this.padded && text.length > 0) || !BASE64.test(text)) return this.fail();
    const whole = text.length - (text.length % 4);
    if (last && whole !== text.length) return this.fail();
    this.carry = text.slice(whole);
    if (whole > 0 && text.charCodeAt(whole - 1) === 0x3d) this.padded = true;
    const bytes = whole > 0 ? Buffer.from(text.slice(0, whole), 'base64') : EMPTY;
    if (last) this.padded = false;
    return bytes;
  }

  toClient(buf: Buffer, start: number, end: number): Buffer {
    const text = buf.toString('base64', start, end);
    const out = Buffer.allocUnsafe(HEADROOM + text.length);
    out.write(text, HEADROOM, 'latin1');
    return out;
  }

  private fail(): DecodeFailure {
    this.carry = '';
    this.padded = false;
    return badBase64;
  }
}

export function codecFor(encoding: DataEncoding): Codec {
  return encoding === 'base64' ? new Base64Codec() : binaryCodec;
}

export function isDecodeFailure(value: Buffer | DecodeFailure): value is DecodeFailure {
  return !Buffer.isBuffer(value);
}
