// Test data: a deterministic byte pattern for byte-exact checks of large transfers.

/**
 * Deterministic, position-dependent bytes: the little-endian uint32 sequence offset/4,
 * offset/4+1, ... so any loss, duplication or reordering of a chunk shows up. `offset` and
 * `length` must be multiples of 4.
 */
export function pattern(offset: number, length: number): Buffer {
  if (offset % 4 !== 0 || length % 4 !== 0) throw new Error('pattern offset/length must be multiples of 4');
  const b = Buffer.allocUnsafe(length);
  const first = offset / 4;
  for (let i = 0; i < length / 4; i++) b.writeUInt32LE((first + i) >>> 0, i * 4);
  return b;
}
