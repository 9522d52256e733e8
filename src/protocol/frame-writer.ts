// Server-to-client RFC 6455 frames (never masked): the header of a final frame written into
// room left in front of its payload, so that header and payload go out as one write without a
// copy, and small whole frames (close, ping, pong) built from their payload.

export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** The largest header a server frame needs (64-bit length). */
export const MAX_HEADER_SIZE = 10;

export function headerSize(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/**
 * Writes a final frame's header so that it ends at `payloadStart` in `buf`; returns where it
 * starts. `buf` must have `headerSize(length)` bytes free in front of the payload.
 */
export function writeHeaderBefore(buf: Buffer, payloadStart: number, opcode: number, length: number): number {
  const size = headerSize(length);
  const at = payloadStart - size;
  buf[at] = 0x80 | opcode;
  if (size === 2) {
    buf[at + 1] = length;
  } else if (size === 4) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(length, at + 2);
  } else {
    buf[at + 1] = 127;
    buf.writeUInt32BE(Math.floor(length / 0x100000000), at + 2);
    buf.writeUInt32BE(length >>> 0, at + 6);
  }
  return at;
}

/** A whole final frame in a new buffer. */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const size = headerSize(payload.length);
  const frame = Buffer.allocUnsafe(size + payload.length);
  writeHeaderBefore(frame, size, opcode, payload.length);
  payload.copy(frame, size);
  return frame;
}

/** A close frame: no payload for 1005 ("no code"), else the code and the UTF-8 reason. */
export function encodeClose(code: number, reason: string): Buffer {
  if (code === 1005) return encodeFrame(OP_CLOSE, Buffer.alloc(0));
  const text = Buffer.from(reason, 'utf8');
  // A control frame's payload is at most 125 bytes.
  const payload = Buffer.allocUnsafe(2 + Math.min(text.length, 123));
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2, 0, payload.length - 2);
  return encodeFrame(OP_CLOSE, payload);
}
