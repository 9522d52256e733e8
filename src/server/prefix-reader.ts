// Reading the first bytes of an accepted socket before anyone else does (first-byte sniffing,
// the PROXY protocol header): chunks are collected until `examine` decides, then the socket is
// paused and what was not consumed is put back on it, so whoever takes it next reads the
// connection from there (or, when asked, handed to `done`, so that a reader that parses them
// next skips putting them back and reading them again). This runs for every connection, so it
// costs one closure and three listeners: no promise, no AbortSignal; the handshake deadline
// ends it through the function it returns.

import type net from 'node:net';

/** What `examine` decided: the result, and how many of the bytes seen it consumed. */
export interface PrefixVerdict<T> {
  result: T;
  consumed: number;
}

/** How a read ended: `examine`'s result, the deadline ('timeout') or the peer leaving ('closed'). */
export type PrefixResult<T> = T | 'timeout' | 'closed';

/**
 * Reads `socket` until `examine(seen)` returns a verdict (undefined: not enough bytes yet) and
 * calls `done` once, synchronously, with the socket paused. `resume` starts a paused socket
 * reading. With `handBack`, the bytes of a verdict that it did not consume go to `done` as
 * `rest`, not back on the socket: the caller then owns them. Returns what the deadline calls:
 * it ends the read with 'timeout' (nothing if it already ended).
 */
export function readPrefix<T>(
  socket: net.Socket,
  examine: (seen: Buffer) => PrefixVerdict<T> | undefined,
  done: (result: PrefixResult<T>, rest?: Buffer) => void,
  { resume = false, handBack = false }: { resume?: boolean; handBack?: boolean } = {},
): () => void {
  let seen: Buffer | undefined;
  let ended = false;
  const finish = (result: PrefixResult<T>, consumed = 0, keep = false): void => {
    if (ended) return;
    ended = true;
    socket.off('data', onData);
    socket.off('end', onGone);
    socket.off('close', onGone);
    socket.pause();
    const rest = seen && consumed < seen.length ? (consumed === 0 ? seen : seen.subarray(consumed)) : undefined;
    if (keep) {
      done(result, rest);
      return;
    }
    if (rest && !socket.destroyed) socket.unshift(rest);
    done(result);
  };
  const onData = (chunk: Buffer): void => {
    seen = seen ? Buffer.concat([seen, chunk]) : chunk;
    const verdict = examine(seen);
    if (verdict) finish(verdict.result, verdict.consumed, handBack);
  };
  const onGone = (): void => finish('closed');
  socket.on('data', onData);
  socket.once('end', onGone);
  socket.once('close', onGone);
  if (resume) socket.resume();
  return () => finish('timeout');
}
