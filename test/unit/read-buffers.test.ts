// The read buffers' pool: a private buffer a socket lets go of is reused by the next socket that
// needs that size (no fresh pages to fault in), and never while its bytes may still be queued
// for the other side (pinned), only after unpin().

import { describe, expect, it } from '@jest/globals';
import { ReadBuffers, type OnRead } from '../../src/proxy/read-buffers.js';

const MAX = 1024 * 1024;
const keep: OnRead = () => true;

/** Fills the next read buffer completely: the buffers grow (16 KiB shared, then 32, 64 KiB...). */
function fullRead(b: ReadBuffers, onRead: OnRead = keep): ArrayBufferLike {
  const region = b.next();
  b.deliver(region.length, onRead);
  return region.buffer;
}

/** Reads until the next read buffer holds `size` bytes; returns that buffer's memory. */
function growTo(b: ReadBuffers, size: number): ArrayBufferLike {
  for (let i = 0; i < 10 && b.next().length < size; i++) fullRead(b);
  expect(b.next().length).toBe(size);
  return b.next().buffer;
}

describe('ReadBuffers pool', () => {
  it('a buffer dropped after a small read is the next socket’s buffer of that size', () => {
    const a = new ReadBuffers(MAX);
    const mem = growTo(a, 64 * 1024);
    a.deliver(100, keep); // a small read: back to the shared buffer, the 64 KiB one to the pool
    expect(a.next().length).toBe(16 * 1024);
    const b = new ReadBuffers(MAX);
    expect(growTo(b, 64 * 1024)).toBe(mem);
  });

  it('a pinned buffer that a bigger one replaced is reused only after unpin()', () => {
    const a = new ReadBuffers(MAX);
    a.setRearm(() => {}); // as for a socket whose next read buffer can be set between reads
    const pinned = growTo(a, 64 * 1024);
    // A full read whose bytes stay queued: a.pin() during the read; the socket grows to 128 KiB.
    fullRead(a, () => {
      a.pin();
      return false;
    });
    expect(a.next().length).toBe(128 * 1024);
    // Meanwhile another socket needs 64 KiB: it must not get the memory still queued.
    const b = new ReadBuffers(MAX);
    expect(growTo(b, 64 * 1024)).not.toBe(pinned);
    a.unpin(); // the queued write completed
    const c = new ReadBuffers(MAX);
    expect(growTo(c, 64 * 1024)).toBe(pinned);
  });

  it('a pinned buffer is not given up by a small read: its next read goes to the shared one', () => {
    const a = new ReadBuffers(MAX);
    const pinned = growTo(a, 64 * 1024);
    a.deliver(100, () => {
      a.pin();
      return false;
    });
    expect(a.next().length).toBe(16 * 1024);
    const b = new ReadBuffers(MAX);
    expect(growTo(b, 64 * 1024)).not.toBe(pinned);
  });

  it('a closed socket gives its buffer back, unless it is pinned', () => {
    const a = new ReadBuffers(MAX);
    const free = growTo(a, 128 * 1024);
    a.release();
    expect(growTo(new ReadBuffers(MAX), 128 * 1024)).toBe(free);

    const b = new ReadBuffers(MAX);
    const pinned = growTo(b, 256 * 1024);
    b.deliver(100, () => {
      b.pin();
      return false;
    });
    b.release(); // closed while its bytes may still be queued on the other socket
    b.unpin(); // and the write completing later changes nothing
    expect(growTo(new ReadBuffers(MAX), 256 * 1024)).not.toBe(pinned);
  });
});
