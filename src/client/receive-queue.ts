// The receive queue: bytes from every message received so far, in order, read from the front
// as big-endian integers, byte arrays or strings. Message boundaries do not exist here: a 32-bit
// value may arrive split over two messages and is read as one.

/** A growable byte queue with a read position; compacted when it would otherwise grow. */
export class ReceiveQueue {
  private buffer: Uint8Array;
  private start = 0;
  private end = 0;

  constructor(initialSize = 4096) {
    this.buffer = new Uint8Array(initialSize);
  }

  /** Bytes queued and not yet shifted. */
  get length(): number {
    return this.end - this.start;
  }

  /** Appends bytes at the back. */
  push(bytes: Uint8Array): void {
    if (this.end + bytes.length > this.buffer.length) this.makeRoom(bytes.length);
    this.buffer.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** Drops every queued byte. */
  clear(): void {
    this.start = 0;
    this.end = 0;
  }

  /** Reads an unsigned big-endian integer of `size` bytes (1, 2 or 4) at `offset`, leaving it queued. */
  peekUint(size: 1 | 2 | 4, offset = 0): number {
    this.require(offset + size);
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + this.buffer[this.start + offset + i]!;
    return value;
  }

  /** Removes and returns an unsigned big-endian integer of `size` bytes (1, 2 or 4). */
  shiftUint(size: 1 | 2 | 4): number {
    const value = this.peekUint(size);
    this.start += size;
    return value;
  }

  /** A copy of the next `length` bytes (all of them by default), leaving them queued. */
  peekBytes(length = this.length): Uint8Array {
    this.require(length);
    return this.buffer.slice(this.start, this.start + length);
  }

  /** Removes and returns a copy of the next `length` bytes (all of them by default). */
  shiftBytes(length = this.length): Uint8Array {
    const bytes = this.peekBytes(length);
    this.start += length;
    return bytes;
  }

  /** Removes the next `length` bytes without copying them. */
  skip(length: number): void {
    this.require(length);
    this.start += length;
  }

  /** Puts the last `length` shifted bytes back at the front (they are still in the buffer). */
  unshift(length: number): void {
    if (length < 0 || length > this.start) {
      throw new RangeError(
        `cannot put back ${length} bytes: only ${this.start} were shifted since the last compaction`,
      );
    }
    this.start -= length;
  }

  private require(length: number): void {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`invalid byte count: ${length}`);
    if (length > this.length) {
      throw new RangeError(`receive queue holds ${this.length} bytes, ${length} requested (check rQwait first)`);
    }
  }

  private makeRoom(extra: number): void {
    const queued = this.length;
    const needed = queued + extra;
    // Move unread bytes to the front; grow (doubling) only when that is not enough.
    const target = needed > this.buffer.length ? new Uint8Array(Math.max(needed, this.buffer.length * 2)) : this.buffer;
    target.set(this.buffer.subarray(this.start, this.end), 0);
    this.buffer = target;
    this.start = 0;
    this.end = queued;
  }
}
