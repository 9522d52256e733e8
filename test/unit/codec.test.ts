// The base64 codec's direction toward the client (its streaming decoder is tested with the
// frame parser, frame-parser.test.ts): whole reads encoded as one text message, with the room
// in front that the frame header is written into.

import { describe, expect, it } from '@jest/globals';
import crypto from 'node:crypto';
import { codecFor } from '../../src/proxy/codec.js';
import { HEADROOM } from '../../src/proxy/read-buffers.js';

describe('base64 codec toward the client', () => {
  it('encodes bytes [start, end) of a read after HEADROOM free bytes', () => {
    const codec = codecFor('base64');
    expect(codec.text).toBe(true);
    for (const length of [0, 1, 2, 3, 4, 1000, 65536]) {
      const data = crypto.randomBytes(length);
      const read = Buffer.concat([Buffer.from('before'), data, Buffer.from('after')]);
      const out = codec.toClient(read, 6, 6 + length)!;
      expect(out.length).toBe(HEADROOM + Math.ceil(length / 3) * 4);
      expect(out.subarray(HEADROOM).toString('latin1')).toBe(data.toString('base64'));
    }
  });

  it('binary sends reads as they are', () => {
    const codec = codecFor('binary');
    expect(codec.text).toBe(false);
    expect(codec.toClient(Buffer.from('abc'), 0, 3)).toBeUndefined();
    const payload = Buffer.from([0, 1, 255]);
    expect(codecFor('binary').fromClient(payload, true, true)).toBe(payload);
  });
});
