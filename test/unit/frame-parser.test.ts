// The streaming frame parser, the frame writer and the streaming base64 codec, in process: byte
// streams built by hand, cut at random points, fed piece by piece.

import { describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import { FrameParser, type FrameEvents } from '../../src/protocol/frame-parser.js';
import { encodeClose, headerSize, writeHeaderBefore } from '../../src/protocol/frame-writer.js';
import { unmask } from '../../src/protocol/unmask.js';
import { codecFor, isDecodeFailure } from '../../src/proxy/codec.js';
import { closePayload, encodeFrame } from '../helpers/raw-websocket.js';

interface Seen {
  messages: { binary: boolean; bytes: Buffer }[];
  pings: Buffer[];
  pongs: number;
  close?: { code: number; reason: string };
  error?: { code: number; reason: string };
}

function collector(): { events: FrameEvents; seen: Seen } {
  const seen: Seen = { messages: [], pings: [], pongs: 0 };
  let parts: Buffer[] = [];
  const events: FrameEvents = {
    data: (payload, binary, last) => {
      parts.push(Buffer.from(payload)); // a view: copy it
      if (last) {
        seen.messages.push({ binary, bytes: Buffer.concat(parts) });
        parts = [];
      }
    },
    ping: (p) => seen.pings.push(Buffer.from(p)),
    pong: () => seen.pongs++,
    close: (code, reason) => (seen.close = { code, reason: reason.toString() }),
    error: (code, reason) => (seen.error = { code, reason }),
  };
  return { events, seen };
}

/** Feeds `stream` cut at random points (copies: the parser unmasks in place). */
function feed(parser: FrameParser, stream: Buffer, rand: () => number): void {
  let at = 0;
  while (at < stream.length) {
    const n = Math.max(1, Math.floor(rand() * Math.min(stream.length - at, rand() < 0.2 ? 20 : 200_000)));
    parser.push(Buffer.from(stream.subarray(at, at + n)));
    at += n;
  }
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const SIZES = [0, 1, 2, 3, 5, 124, 125, 126, 127, 65535, 65536, 65537, 300_000, 1024 * 1024];

describe('FrameParser', () => {
  it.each([1, 2, 3, 4, 5])('reassembles random messages cut at random points (seed %i)', (seed) => {
    const rand = seeded(seed);
    const frames: Buffer[] = [];
    const expected: { binary: boolean; bytes: Buffer }[] = [];
    const pings: Buffer[] = [];
    for (let m = 0; m < 40; m++) {
      const size = rand() < 0.5 ? SIZES[Math.floor(rand() * SIZES.length)]! : Math.floor(rand() * 70_000);
      const bytes = crypto.randomBytes(size);
      const binary = rand() < 0.7;
      expected.push({ binary, bytes });
      const pieces = rand() < 0.5 ? 1 : 1 + Math.floor(rand() * 5);
      let at = 0;
      for (let p = 0; p < pieces; p++) {
        const end = p === pieces - 1 ? size : Math.min(size, at + Math.floor(rand() * (size - at + 1)));
        const opcode = p === 0 ? (binary ? 2 : 1) : 0;
        frames.push(encodeFrame(opcode, bytes.subarray(at, end), { fin: p === pieces - 1 }));
        at = end;
        if (rand() < 0.2) {
          const ping = crypto.randomBytes(Math.floor(rand() * 126));
          pings.push(ping);
          frames.push(encodeFrame(0x9, ping)); // control frames may come between fragments
        }
      }
    }
    frames.push(encodeFrame(0x8, closePayload(4001, 'done')));
    const { events, seen } = collector();
    feed(new FrameParser(2 * 1024 * 1024, events), Buffer.concat(frames), rand);
    expect(seen.error).toBeUndefined();
    expect(seen.messages.length).toBe(expected.length);
    seen.messages.forEach((m, i) => {
      expect(m.binary).toBe(expected[i]!.binary);
      expect(m.bytes.equals(expected[i]!.bytes)).toBe(true);
    });
    expect(seen.pings).toEqual(pings);
    expect(seen.close).toEqual({ code: 4001, reason: 'done' });
  });

  it('a message of exactly the limit passes; one byte more, or fragments adding up to more, is 1009', () => {
    const exact = collector();
    new FrameParser(1000, exact.events).push(encodeFrame(2, Buffer.alloc(1000)));
    expect(exact.seen.messages[0]!.bytes.length).toBe(1000);
    const over = collector();
    new FrameParser(1000, over.events).push(encodeFrame(2, Buffer.alloc(1001)));
    expect(over.seen.error?.code).toBe(1009);
    expect(over.seen.messages).toEqual([]); // refused from the header, before any payload
    const frag = collector();
    const p = new FrameParser(1000, frag.events);
    p.push(encodeFrame(2, Buffer.alloc(600), { fin: false }));
    p.push(encodeFrame(0, Buffer.alloc(600)));
    expect(frag.seen.error?.code).toBe(1009);
  });

  const raw = (bytes: number[]): Buffer => Buffer.from(bytes);
  const cases: [string, Buffer, number][] = [
    ['unmasked frame', encodeFrame(2, 'x', { mask: false }), 1002],
    ['RSV1', encodeFrame(2, 'x', { rsv: 4 }), 1002],
    ['RSV2', encodeFrame(2, 'x', { rsv: 2 }), 1002],
    ['RSV3', encodeFrame(2, 'x', { rsv: 1 }), 1002],
    ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, Buffer, number] => [
      `reserved opcode ${op}`,
      encodeFrame(op, 'x'),
      1002,
    ]),
    ['continuation without a message', encodeFrame(0, 'x'), 1002],
    [
      'new message inside a fragmented one',
      Buffer.concat([encodeFrame(2, 'a', { fin: false }), encodeFrame(2, 'b')]),
      1002,
    ],
    ['fragmented ping', encodeFrame(9, 'x', { fin: false }), 1002],
    ['fragmented close', encodeFrame(8, closePayload(1000), { fin: false }), 1002],
    ['ping over 125 bytes', encodeFrame(9, Buffer.alloc(126)), 1002],
    ['close over 125 bytes', encodeFrame(8, Buffer.alloc(126)), 1002],
    ['64-bit length with the top bit', raw([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]), 1002],
    ['64-bit length over 2^32', raw([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]), 1009],
    ['close with a 1-byte payload', encodeFrame(8, Buffer.from([3])), 1002],
    ...[0, 999, 1004, 1005, 1006, 1015, 1100, 2999, 5000, 65535].map((code): [string, Buffer, number] => [
      `close code ${code}`,
      encodeFrame(8, closePayload(code)),
      1002,
    ]),
    ['close reason not UTF-8', encodeFrame(8, closePayload(1000, Buffer.from([0xc3, 0x28]))), 1007],
    ['close reason truncated UTF-8', encodeFrame(8, closePayload(1000, Buffer.from([0xe2, 0x82]))), 1007],
  ];
  it.each(cases.map(([name, bytes, code]) => [name, code, bytes] as const))(
    '%s fails with %i',
    (_name, code, bytes) => {
      const { events, seen } = collector();
      const p = new FrameParser(1 << 20, events);
      for (const b of bytes) p.push(Buffer.from([b])); // byte by byte: every header split
      expect(seen.error?.code).toBe(code);
    },
  );

  it.each([1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999])('close code %i is accepted', (code) => {
    const { events, seen } = collector();
    new FrameParser(100, events).push(encodeFrame(8, closePayload(code, 'é')));
    expect(seen.close).toEqual({ code, reason: 'é' });
  });

  it('an empty close frame is code 1005; nothing after a close frame is parsed', () => {
    const { events, seen } = collector();
    new FrameParser(100, events).push(Buffer.concat([encodeFrame(8), encodeFrame(2, 'after')]));
    expect(seen.close).toEqual({ code: 1005, reason: '' });
    expect(seen.messages).toEqual([]);
  });
});

describe('unmask', () => {
  it('unmasks from any mask position and any alignment, like the byte loop', () => {
    const rand = seeded(9);
    for (let i = 0; i < 300; i++) {
      const len = Math.floor(rand() * 300);
      const backing = crypto.randomBytes(len + 8);
      const start = Math.floor(rand() * 4);
      const data = backing.subarray(start, start + len);
      const mask = crypto.randomBytes(4);
      const offset = Math.floor(rand() * 4);
      const expected = Buffer.from(data.map((b, k) => b ^ mask[(offset + k) & 3]!));
      unmask(data, mask, offset);
      expect(data.equals(expected)).toBe(true);
    }
  });
});

describe('frame writer', () => {
  it.each([0, 125, 126, 65535, 65536, 300_000])('a %i-byte header in front of the payload parses back', (len) => {
    const room = 10;
    const buf = Buffer.alloc(room + len, 7);
    const at = writeHeaderBefore(buf, room, 2, len);
    expect(room - at).toBe(headerSize(len));
    const frame = buf.subarray(at);
    expect(frame[0]).toBe(0x82);
    const len7 = frame[1]! & 0x7f;
    const parsed = len7 === 126 ? frame.readUInt16BE(2) : len7 === 127 ? Number(frame.readBigUInt64BE(2)) : len7;
    expect(parsed).toBe(len);
  });

  it('close frames: no payload for 1005, else code and reason, within 125 bytes', () => {
    expect(encodeClose(1005, 'x').equals(Buffer.from([0x88, 0]))).toBe(true);
    const long = encodeClose(1000, 'r'.repeat(200));
    expect(long[1]).toBe(125);
    expect(long.readUInt16BE(2)).toBe(1000);
  });
});

describe('base64 codec (streaming)', () => {
  function decodeInPieces(text: string, cuts: number[]): Buffer | number {
    const codec = codecFor('base64');
    const out: Buffer[] = [];
    const points = [0, ...cuts.filter((c) => c > 0 && c < text.length).sort((a, b) => a - b), text.length];
    for (let i = 1; i < points.length; i++) {
      const r = codec.fromClient(
        Buffer.from(text.slice(points[i - 1], points[i]), 'latin1'),
        false,
        i === points.length - 1,
      );
      if (isDecodeFailure(r)) return r.code;
      out.push(r);
    }
    return Buffer.concat(out);
  }

  it('decodes groups that span pieces, with whitespace and padding anywhere a cut falls', () => {
    const rand = seeded(3);
    for (let i = 0; i < 200; i++) {
      const bytes = crypto.randomBytes(Math.floor(rand() * 100));
      let text = bytes.toString('base64');
      if (rand() < 0.5) text = text.replace(/(.{7})/g, '$1\r\n ');
      const cuts = Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * text.length));
      const got = decodeInPieces(text, cuts);
      expect(Buffer.isBuffer(got) && got.equals(bytes)).toBe(true);
    }
  });

  it.each([
    ['QQ=', [1]],
    ['QQ==QQ==', [4]],
    ['QQ==QQ==', []],
    ['Q', []],
    ['QQ=A', [3]],
    ['QQ!=', [2]],
    ['QUJD\u00ff', [4]],
  ])('%p (cut at %p) is 1007', (text, cuts) => {
    expect(decodeInPieces(text, cuts)).toBe(1007);
  });

  it('each message is decoded on its own', () => {
    const codec = codecFor('base64');
    const a = codec.fromClient(Buffer.from('QQ=='), false, true);
    const b = codec.fromClient(Buffer.from('Qg=='), false, true);
    expect(Buffer.concat([a as Buffer, b as Buffer]).toString()).toBe('AB');
  });

  it('binary mode refuses text with 1003', () => {
    const r = codecFor('binary').fromClient(Buffer.from('x'), false, true);
    expect(isDecodeFailure(r) && r.code).toBe(1003);
  });
});
