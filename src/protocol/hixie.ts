// The legacy Hixie-75 and Hixie-76 WebSocket protocols (drafts that browsers spoke before RFC
// 6455): recognising such a request, the Hixie-76 key challenge, the 101 response, and the
// framing (`0x00 <text> 0xFF` data frames, `0xFF 0x00` close). No socket handling here.

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type HixieVersion = 'hixie-75' | 'hixie-76';

/** Bytes of the Hixie-76 key3 sent after the request headers. */
export const HIXIE76_KEY3_LENGTH = 8;

export const HIXIE_CLOSE_FRAME = Buffer.from([0xff, 0x00]);

/**
 * Which legacy protocol an upgrade request speaks, or undefined for RFC 6455 (which always
 * sends `Sec-WebSocket-Version`, or at least `Sec-WebSocket-Key`: `ws` answers those).
 */
export function hixieVersion(req: IncomingMessage): HixieVersion | undefined {
  const h = req.headers;
  if (h['sec-websocket-version'] !== undefined || h['sec-websocket-key'] !== undefined) return undefined;
  if (h['sec-websocket-key1'] !== undefined || h['sec-websocket-key2'] !== undefined) return 'hixie-76';
  return 'hixie-75';
}

/**
 * The number a Hixie-76 key stands for: its digits divided by its number of spaces, which must
 * divide them exactly and give a 32-bit value. Undefined for an invalid key.
 */
export function hixieKeyNumber(key: string): number | undefined {
  const digits = key.replace(/[^0-9]/g, '');
  const spaces = key.split(' ').length - 1;
  // A valid key's number is below 2^32 times at most 12 spaces: never more than 20 digits.
  if (digits === '' || digits.length > 20 || spaces === 0) return undefined;
  const value = BigInt(digits);
  if (value % BigInt(spaces) !== 0n) return undefined;
  const quotient = value / BigInt(spaces);
  return quotient > 0xffffffffn ? undefined : Number(quotient);
}

/** A header's value when it was sent exactly once. */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Checks a Hixie request before anything else happens; returns the 400 message if it is bad. */
export function checkHixieRequest(req: IncomingMessage, version: HixieVersion): string | undefined {
  if (req.method !== 'GET') return `${version} handshake must be a GET`;
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return 'Upgrade header must be WebSocket';
  if (req.headers.host === undefined) return 'Missing Host header';
  if (version === 'hixie-76') {
    for (const name of ['sec-websocket-key1', 'sec-websocket-key2'] as const) {
      const key = header(req, name);
      if (key === undefined || hixieKeyNumber(key) === undefined) return `Invalid or missing ${name} header`;
    }
  }
  return undefined;
}

/** The 16-byte Hixie-76 answer: MD5 of both key numbers (32-bit big-endian) and key3. */
export function hixie76Challenge(key1: string, key2: string, key3: Buffer): Buffer {
  const input = Buffer.alloc(8 + key3.length);
  input.writeUInt32BE(hixieKeyNumber(key1)!, 0);
  input.writeUInt32BE(hixieKeyNumber(key2)!, 4);
  key3.copy(input, 8);
  return createHash('md5').update(input).digest();
}

/** Hixie clients carry data as base64 text; echo that subprotocol when they offer it. */
function offeredBase64(offer: string | undefined): boolean {
  return offer !== undefined && offer.split(/[\s,]+/).includes('base64');
}

/**
 * The complete 101 response (for Hixie-76 including the challenge answer). `secure` chooses
 * wss:// for the location. The request must have passed checkHixieRequest.
 */
export function hixieResponse(req: IncomingMessage, version: HixieVersion, secure: boolean, key3?: Buffer): Buffer {
  const h = req.headers;
  const prefix = version === 'hixie-76' ? 'Sec-' : '';
  const lines = [
    version === 'hixie-76' ? 'HTTP/1.1 101 WebSocket Protocol Handshake' : 'HTTP/1.1 101 Web Socket Protocol Handshake',
    'Upgrade: WebSocket',
    'Connection: Upgrade',
  ];
  if (h.origin !== undefined) lines.push(`${prefix}WebSocket-Origin: ${h.origin}`);
  lines.push(`${prefix}WebSocket-Location: ${secure ? 'wss' : 'ws'}://${h.host}${req.url ?? '/'}`);
  if (offeredBase64(header(req, `${prefix.toLowerCase()}websocket-protocol`)))
    lines.push(`${prefix}WebSocket-Protocol: base64`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  if (version === 'hixie-75') return head;
  const challenge = hixie76Challenge(header(req, 'sec-websocket-key1')!, header(req, 'sec-websocket-key2')!, key3!);
  return Buffer.concat([head, challenge]);
}

/** One data frame carrying `text` (ASCII: the base64 of the payload). */
export function encodeHixieFrame(text: string): Buffer {
  const frame = Buffer.allocUnsafe(text.length + 2);
  frame[0] = 0x00;
  frame.write(text, 1, 'latin1');
  frame[frame.length - 1] = 0xff;
  return frame;
}

export interface HixieFrameHandlers {
  /** A complete data frame's text, as bytes. */
  onText(text: Buffer): void;
  /** The client's `0xFF 0x00` close frame; nothing after it is parsed. */
  onClose(): void;
  /** A framing error (unknown frame type, frame too large); nothing after it is parsed. */
  onError(reason: string): void;
}

/**
 * Incremental parser for client frames: frames may be split across reads and several may
 * arrive in one. A data frame longer than `maxFrameSize` bytes is an error.
 */
export class HixieFrameParser {
  private inFrame = false;
  /** A 0xFF was read outside a frame: the next byte must be 0x00 (close). */
  private closing = false;
  private parts: Buffer[] = [];
  private size = 0;
  private stopped = false;

  constructor(
    private readonly maxFrameSize: number,
    private readonly handlers: HixieFrameHandlers,
  ) {}

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.stopped) {
      if (this.inFrame) {
        const end = chunk.indexOf(0xff, i);
        const piece = chunk.subarray(i, end === -1 ? chunk.length : end);
        this.size += piece.length;
        if (this.size > this.maxFrameSize) {
          this.fail(`frame larger than ${this.maxFrameSize} bytes`);
          return;
        }
        if (piece.length > 0) this.parts.push(piece);
        if (end === -1) return;
        const text = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
        this.parts = [];
        this.size = 0;
        this.inFrame = false;
        i = end + 1;
        this.handlers.onText(text);
        continue;
      }
      const byte = chunk[i++]!;
      if (this.closing) {
        if (byte !== 0x00) return this.fail(`unsupported frame type 0xff with length byte 0x${hex(byte)}`);
        this.stopped = true;
        this.handlers.onClose();
      } else if (byte === 0x00) {
        this.inFrame = true;
      } else if (byte === 0xff) {
        this.closing = true;
      } else {
        this.fail(`unsupported frame type 0x${hex(byte)}`);
      }
    }
  }

  private fail(reason: string): void {
    this.stopped = true;
    this.parts = [];
    this.handlers.onError(reason);
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
