// XOR-unmasking of WebSocket payload in place, starting at any position of the 4-byte mask:
// `bufferutil`'s native loop (ws's optional dependency) when it loads, else a JavaScript loop
// that works a 32-bit word at a time over the aligned middle of the buffer.

import { createRequire } from 'node:module';

type NativeUnmask = (buffer: Buffer, mask: Buffer) => void;

function loadNative(): NativeUnmask | undefined {
  if (process.env.WEBSOCKIFY_NO_BUFFERUTIL) return undefined;
  try {
    const mod = createRequire(import.meta.url)('bufferutil') as { unmask?: NativeUnmask };
    return typeof mod.unmask === 'function' ? mod.unmask : undefined;
  } catch {
    return undefined;
  }
}

const native = loadNative();
/** Below this size a call into native code costs more than the loop. */
const NATIVE_MIN = 64;
const rotated = Buffer.alloc(4);
const word = new Uint32Array(1);
const wordBytes = new Uint8Array(word.buffer);

/** Unmasks `data` in place; its first byte uses mask byte `offset` (0-3). */
export function unmask(data: Buffer, mask: Buffer, offset: number): void {
  const length = data.length;
  if (native && length >= NATIVE_MIN) {
    for (let i = 0; i < 4; i++) rotated[i] = mask[(offset + i) & 3]!;
    native(data, rotated);
    return;
  }
  let i = 0;
  // Bytes up to a 4-byte boundary of the underlying memory, then whole words.
  const lead = Math.min(length, (4 - (data.byteOffset & 3)) & 3);
  for (; i < lead; i++) data[i]! ^= mask[(offset + i) & 3]!;
  const words = (length - i) >>> 2;
  if (words > 0) {
    for (let k = 0; k < 4; k++) wordBytes[k] = mask[(offset + i + k) & 3]!;
    const m = word[0]!;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= m;
    i += words * 4;
  }
  for (; i < length; i++) data[i]! ^= mask[(offset + i) & 3]!;
}
