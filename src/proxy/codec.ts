// Payload encodings between the WebSocket client and the raw TCP stream. `binary` passes bytes
// through as binary messages; legacy `base64` sends base64 text messages to the client and
// decodes base64 from it (text or binary frames, as old clients used both).

import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import type { DataEncoding } from '../protocol/subprotocol.js';

export interface DecodeFailure {
  code: number;
  reason: string;
}

export interface Codec {
  /** Turns a chunk read from the target into a message payload for the client. */
  toClient(chunk: Buffer): Buffer | string;
  /** Turns a client message into target bytes, or says which close code it deserves. */
  fromClient(data: Buffer, isBinary: boolean): Buffer | DecodeFailure;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const binaryCodec: Codec = {
  toClient: (chunk) => chunk,
  fromClient: (data, isBinary) =>
    isBinary ? data : { code: CloseCode.unsupportedData, reason: CloseReason.textUnsupported },
};

const base64Codec: Codec = {
  toClient: (chunk) => chunk.toString('base64'),
  fromClient: (data) => {
    const text = data.toString('latin1').replace(/\s+/g, '');
    if (text.length % 4 !== 0 || !BASE64.test(text)) {
      return { code: CloseCode.invalidPayload, reason: CloseReason.badBase64 };
    }
    return Buffer.from(text, 'base64');
  },
};

export function codecFor(encoding: DataEncoding): Codec {
  return encoding === 'base64' ? base64Codec : binaryCodec;
}

export function isDecodeFailure(value: Buffer | DecodeFailure): value is DecodeFailure {
  return !Buffer.isBuffer(value);
}
