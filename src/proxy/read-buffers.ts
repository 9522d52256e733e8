// Reading sockets into reused buffers. Every reader starts on one process-wide 16 KiB buffer
// that all quiet sockets share (so an idle connection holds no read buffer of its own); what is
// read there is copied before it is kept or written. A read that fills its buffer moves the
// socket to a private buffer, doubling up to the session's maximum; a small read drops it
// again. A private buffer whose bytes are still queued for the other side (pinned) is not read
// into again until the session says the write completed: the socket reads nothing meanwhile,
// and its next read, after the write, goes to the same buffer. If it must read while pinned (a
// stall probe, the answer to a close), that read is moved to the shared buffer first. Private
// buffers a socket lets go of (also when it closes) wait in a small pool for the next socket of
// that size.
//
// Target sockets use Node's documented `onread` option. Accepted client sockets get the same
// through Node internals, only where they are detected (plain TCP and unix sockets); anything
// else (TLS, or WEBSOCKIFY_READ_FALLBACK=1) reads plain `data` events, whose chunks are fresh.

import net from 'node:net';
import { MAX_HEADER_SIZE } from '../protocol/frame-writer.js';

/** Free bytes in front of every read, for a frame header. */
export const HEADROOM = MAX_HEADER_SIZE;
const SHARED_SIZE = 16 * 1024;
/** A read below this size drops a private buffer. */
const SMALL_READ = 4 * 1024;

let shared: Buffer | undefined;
function sharedBuffer(): Buffer {
  return (shared ??= Buffer.allocUnsafeSlow(HEADROOM + SHARED_SIZE));
}

/**
 * Private buffers that a socket let go of (it grew past them, its reads got small, or it
 * closed), kept for the next one that needs that size: a fresh buffer costs a page fault per
 * 4 KiB the first time it is filled, and a transfer changes size often. At most POOL_PER_SIZE of
 * each size (the sizes double from 32 KiB to the maximum), so the pool holds about 4 MiB at the
 * 1 MiB default. Never a buffer whose bytes may still be queued: a pinned buffer that a bigger
 * one replaced is given back only at unpin(), and a socket that closes pinned gives nothing.
 */
const POOL_PER_SIZE = 2;
const pool = new Map<number, Buffer[]>();
function takeBuffer(length: number): Buffer {
  return pool.get(length)?.pop() ?? Buffer.allocUnsafeSlow(length);
}
function giveBack(buf: Buffer): void {
  let free = pool.get(buf.length);
  if (!free) pool.set(buf.length, (free = []));
  if (free.length < POOL_PER_SIZE) free.push(buf);
}

/**
 * One read: bytes [start, end) of `buf`. `room` is true when HEADROOM bytes in front of start
 * are free to write into; `shared` means the bytes must be copied before they are kept.
 * Return false to stop reading until resume(); call ReadBuffers.pin() if the bytes are still
 * queued when it returns.
 */
export type OnRead = (buf: Buffer, start: number, end: number, room: boolean, shared: boolean) => boolean;

export class ReadBuffers {
  private private_: Buffer | undefined;
  /** The buffer (HEADROOM + capacity) the socket reads into next. */
  private current: Buffer = sharedBuffer();
  private pinned = false;
  /** A pinned private buffer that a bigger one replaced: it goes back to the pool at unpin(). */
  private retired: Buffer | undefined;
  /** Reading while pinned: reads go to the shared buffer until unpin(). */
  private probing = false;
  /**
   * Makes `buf` the socket's next read buffer outside a read callback. Without it (internals
   * not detected), a pinned socket's next read always goes to the shared buffer.
   */
  private rearm: ((buf: Buffer) => void) | undefined;

  constructor(private readonly maxCapacity: number) {}

  /** Called once the socket reads into these buffers; `rearm` as returned by rearmHook(). */
  setRearm(rearm: ((buf: Buffer) => void) | undefined): void {
    this.rearm = rearm;
  }

  /** The region the socket should read into next. */
  next(): Buffer {
    return this.current.subarray(HEADROOM);
  }

  /** Handles `nread` bytes read into the current buffer, then chooses the next buffer. */
  deliver(nread: number, onRead: OnRead): boolean {
    const buf = this.current;
    const isShared = buf === shared;
    const go = onRead(buf, HEADROOM, HEADROOM + nread, true, isShared);
    this.choose(nread, buf.length - HEADROOM, isShared);
    return go;
  }

  /** Called during a read: its bytes are still queued for the other side. */
  pin(): void {
    if (this.current !== shared) this.pinned = true;
  }

  /** The session's writes of the last read completed: its buffer may be read into again. */
  unpin(): void {
    this.pinned = false;
    this.probing = false;
    if (this.retired) giveBack(this.retired);
    this.retired = undefined;
  }

  /**
   * The socket closed: its private buffer goes to the pool, unless it is pinned (bytes of it may
   * still be queued on the other socket; then it is left to the garbage collector).
   */
  release(): void {
    if (!this.pinned && this.private_) giveBack(this.private_);
    this.private_ = undefined;
    this.retired = undefined;
    this.current = sharedBuffer();
  }

  /**
   * The socket is about to read while its buffer may still be pinned: move the next read to the
   * shared buffer (a rare path: once per stall probe or close).
   */
  readWhilePinned(): void {
    if (!this.pinned) return;
    this.probing = true;
    if (this.current === shared) return;
    this.current = sharedBuffer();
    this.rearm!(this.next());
  }

  private choose(nread: number, capacity: number, wasShared: boolean): void {
    let size = this.private_ ? this.private_.length - HEADROOM : SHARED_SIZE;
    if (nread === capacity)
      size = Math.min(wasShared ? Math.max(size, 2 * SHARED_SIZE) : 2 * capacity, this.maxCapacity);
    else if (nread < SMALL_READ) size = 0;
    if (size <= SHARED_SIZE || this.maxCapacity <= SHARED_SIZE) {
      if (!this.pinned && this.private_) {
        giveBack(this.private_);
        this.private_ = undefined;
      }
      this.current = sharedBuffer();
      return;
    }
    if (this.pinned) {
      if (this.probing || !this.rearm) {
        this.current = sharedBuffer();
        return;
      }
      // The socket reads again only after unpin(), into this buffer; a bigger one takes over
      // instead, and the pinned one is left to its queued write (and then to the pool).
      if (this.private_?.length !== HEADROOM + size) {
        this.retired = this.private_;
        this.private_ = undefined;
        this.pinned = false;
      }
    }
    if (!this.private_ || this.private_.length !== HEADROOM + size) {
      if (this.private_) giveBack(this.private_);
      this.private_ = takeBuffer(HEADROOM + size);
    }
    this.current = this.private_;
  }
}

/** The `onread` option for net.connect: reads go through `buffers` to `onRead`. */
export function onreadOption(
  buffers: ReadBuffers,
  onRead: () => OnRead,
): { buffer: () => Buffer; callback: (nread: number) => boolean } {
  return { buffer: () => buffers.next(), callback: (nread) => buffers.deliver(nread, onRead()) };
}

interface Internals {
  kBuffer: symbol;
  kBufferCb: symbol;
  kBufferGen: symbol;
}

let internals: Internals | null | undefined;
function detectInternals(socket: net.Socket): Internals | null {
  if (internals !== undefined) return internals;
  const find = (name: string): symbol | undefined =>
    Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
  const kBuffer = find('kBuffer');
  const kBufferCb = find('kBufferCb');
  const kBufferGen = find('kBufferGen');
  internals = kBuffer && kBufferCb && kBufferGen ? { kBuffer, kBufferCb, kBufferGen } : null;
  return internals;
}

type Handle = { useUserBuffer?: (buf: Buffer) => void; onread?: { name?: string }; constructor?: { name?: string } };

/** The handle of a plain TCP or unix socket whose reads Node's internals can redirect. */
function bufferedHandle(socket: net.Socket): Required<Handle> | null {
  if (process.env.WEBSOCKIFY_READ_FALLBACK === '1') return null;
  if (!(socket instanceof net.Socket) || (socket as { encrypted?: boolean }).encrypted) return null;
  const handle = (socket as unknown as { _handle?: Handle })._handle;
  const kind = handle?.constructor?.name;
  if (!handle || (kind !== 'TCP' && kind !== 'Pipe')) return null;
  if (typeof handle.useUserBuffer !== 'function' || handle.onread?.name !== 'onStreamRead') return null;
  return detectInternals(socket) ? (handle as Required<Handle>) : null;
}

/** Whether `socket` can be switched to reused read buffers (plain TCP or unix socket, no TLS). */
function canUseBuffers(socket: net.Socket): Internals | null {
  if (!bufferedHandle(socket)) return null;
  const found = internals!;
  const s = socket as unknown as Record<symbol, unknown>;
  // The symbols are present (null) on every socket of the Node versions this works with.
  if (s[found.kBuffer] !== null || s[found.kBufferCb] !== null || s[found.kBufferGen] !== null) return null;
  return found;
}

/**
 * For a socket already reading into user buffers (`onread`, or readSocket() below): a function
 * that sets its next read buffer between reads, or undefined where that is not possible. It
 * adds a native listener each time, freed with the socket, so it is for rare paths only.
 */
export function rearmHook(socket: net.Socket): ((buf: Buffer) => void) | undefined {
  const handle = bufferedHandle(socket);
  if (!handle) return undefined;
  const s = socket as unknown as Record<symbol, unknown>;
  const { kBuffer, kBufferCb } = internals!;
  if (typeof s[kBufferCb] !== 'function') return undefined;
  return (buf) => {
    s[kBuffer] = buf;
    handle.useUserBuffer(buf);
  };
}

/**
 * Starts reading an accepted socket: through `buffers` when the internals allow it, else from
 * `data` events. Bytes the socket had already buffered come first. Returns which way it reads.
 */
export function readSocket(socket: net.Socket, buffers: ReadBuffers, onRead: OnRead): 'buffers' | 'data' {
  const found = canUseBuffers(socket);
  if (!found) {
    socket.on('data', (chunk: Buffer) => {
      if (!onRead(chunk, 0, chunk.length, false, false)) socket.pause();
    });
    socket.resume();
    return 'data';
  }
  const s = socket as unknown as Record<symbol, unknown>;
  // Anything the stream buffered before the switch is delivered as ordinary chunks first.
  let early: Buffer | null;
  let go = true;
  while ((early = socket.read() as Buffer | null) !== null) {
    go = onRead(early, 0, early.length, false, false) && go;
  }
  const first = buffers.next();
  s[found.kBuffer] = first;
  s[found.kBufferCb] = (nread: number) => buffers.deliver(nread, onRead);
  s[found.kBufferGen] = () => buffers.next();
  (socket as unknown as { _handle: Required<Handle> })._handle.useUserBuffer(first);
  buffers.setRearm(rearmHook(socket));
  if (go) socket.resume();
  else socket.pause();
  return 'buffers';
}
