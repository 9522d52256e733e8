// Session recording (`--record FILE`): one file per WebSocket session, `FILE.N`, in the
// reference's format, which noVNC's playback page loads as a script (a `VNC_frame_data` array
// of `'{ms{data'` frames sent to the client and `'}ms}data'` frames received from it).
// Files are never overwritten, writing never blocks the proxy, and the bytes waiting for the
// disk are bounded per session: a disk that falls behind stops that recording, with a log line.

import type { WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';

export const RECORDING_HEADER = 'var VNC_frame_data = [\n';
export const RECORDING_FOOTER = "'EOF'];\n";

/** How many taken numbers `FILE.N` may skip before giving up on a session's recording. */
const MAX_NAME_ATTEMPTS = 10_000;

/**
 * The escaped form of each byte value, as the reference writes it (Python's `unicode_escape`
 * of the Latin-1 text, then `'` as `\'`): printable ASCII as is except `\\` and `\'`; `\t`,
 * `\n`, `\r`; `\xhh` (lowercase) for every other byte. Each byte stays one JavaScript character.
 */
const ESCAPED: Buffer[] = Array.from({ length: 256 }, (_, b) => {
  const short: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x27: "\\'", 0x5c: '\\\\' };
  if (short[b] !== undefined) return Buffer.from(short[b], 'latin1');
  if (b >= 0x20 && b < 0x7f) return Buffer.from([b]);
  return Buffer.from(`\\x${b.toString(16).padStart(2, '0')}`, 'latin1');
});
/** The same table flattened for the hot loop: byte b's escape at [4b, 4b + length). */
const ESCAPE_BYTES = new Uint8Array(256 * 4);
const ESCAPE_LENGTH = new Uint8Array(256);
ESCAPED.forEach((escaped, b) => {
  ESCAPE_BYTES.set(escaped, b * 4);
  ESCAPE_LENGTH[b] = escaped.length;
});

const TO_CLIENT = 0x7b; // '{'
const FROM_CLIENT = 0x7d; // '}'

/** One frame line, `'<dir><ms><dir><escaped bytes>',\n`, in a buffer of exactly its size. */
function frameLine(direction: number, ms: number, bytes: Buffer): Buffer {
  const stamp = String(ms);
  let size = stamp.length + 6;
  for (let i = 0; i < bytes.length; i++) size += ESCAPE_LENGTH[bytes[i]!]!;
  const line = Buffer.allocUnsafe(size);
  let at = 0;
  line[at++] = 0x27;
  line[at++] = direction;
  at += line.write(stamp, at, 'latin1');
  line[at++] = direction;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const length = ESCAPE_LENGTH[b]!;
    if (length === 1) {
      line[at++] = b;
    } else {
      for (let j = b * 4, end = j + length; j < end; j++) line[at++] = ESCAPE_BYTES[j]!;
    }
  }
  line[at++] = 0x27;
  line[at++] = 0x2c;
  line[at] = 0x0a;
  return line;
}

export interface RecordingOptions {
  /** Absolute path; sessions are recorded to `<basePath>.<N>`. */
  basePath: string;
  /** Bytes one session may have waiting for the disk before its recording is stopped. */
  queueLimit: number;
  logger: Logger;
}

/** The recordings of one server: names the files and waits for the last ones to be written. */
export class Recordings {
  private readonly closing = new Set<Promise<void>>();
  /** Numbers below this were found taken: probing after a collision starts here. */
  private probeFrom = 0;
  /** Files are created one after the other, so numbers follow the order of the sessions. */
  private creating: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: RecordingOptions) {}

  /** Starts recording session `id`: to `<basePath>.<id>`, or the next free number. */
  start(id: number, logPrefix: string): SessionRecorder {
    const file = this.creating.then(() => this.create(id));
    this.creating = file.catch(() => undefined);
    return new SessionRecorder(this.opts, logPrefix, file, (done) => {
      this.closing.add(done);
      void done.then(() => this.closing.delete(done));
    });
  }

  /** Resolves once every recording closed so far is written and its file closed. */
  async flushed(): Promise<void> {
    while (this.closing.size > 0) await Promise.all(this.closing);
  }

  /** Creates the first free `<basePath>.<n>` from `id` up; an existing file is never opened. */
  private async create(id: number): Promise<{ path: string; stream: WriteStream }> {
    let n = id;
    for (let attempt = 0; ; attempt++) {
      const path = `${this.opts.basePath}.${n}`;
      try {
        const handle = await open(path, 'wx', 0o600);
        if (n !== id) this.probeFrom = Math.max(this.probeFrom, n + 1);
        return { path, stream: handle.createWriteStream() };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= MAX_NAME_ATTEMPTS) throw err;
        n = Math.max(n + 1, this.probeFrom);
      }
    }
  }
}

/**
 * The recording of one session. `toClient`/`fromClient` take payload bytes (what the target
 * sent; what a client message carried, once decoded); `close` ends the file with the footer.
 * Lines produced before the file is open wait in memory, within the same bound.
 */
export class SessionRecorder {
  private readonly startedAt = performance.now();
  /** False once recording stopped (file not opened, write failed, disk too slow). */
  private recording = true;
  private stream: WriteStream | undefined;
  private path: string;
  private early: Buffer[] = [Buffer.from(RECORDING_HEADER, 'latin1')];
  private earlyBytes = RECORDING_HEADER.length;
  private closed = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    private readonly opts: RecordingOptions,
    private readonly logPrefix: string,
    file: Promise<{ path: string; stream: WriteStream }>,
    private readonly onClose: (done: Promise<void>) => void,
  ) {
    this.path = `${opts.basePath}.N`;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    file.then(
      ({ path, stream }) => this.onOpen(path, stream),
      (err: NodeJS.ErrnoException) => {
        this.log(`cannot create ${this.path}: ${err.code ?? err.message}; this session is not recorded`);
        this.recording = false;
        this.early = [];
        this.resolveDone();
      },
    );
  }

  /** Records bytes sent to the client. */
  toClient(bytes: Buffer): void {
    if (this.recording) this.append(frameLine(TO_CLIENT, this.elapsed(), bytes));
  }

  /** Records bytes received from the client. */
  fromClient(bytes: Buffer): void {
    if (this.recording) this.append(frameLine(FROM_CLIENT, this.elapsed(), bytes));
  }

  /** Ends the recording with the footer (once the file is open). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this.done);
    if (this.stream) this.finish();
  }

  private elapsed(): number {
    return Math.floor(performance.now() - this.startedAt);
  }

  private log(message: string): void {
    this.opts.logger.warn(`${this.logPrefix}: recording: ${message}`);
  }

  private append(line: Buffer): void {
    const stream = this.stream;
    const queued = stream ? stream.writableLength : this.earlyBytes;
    if (queued + line.length > this.opts.queueLimit) {
      this.log(
        `${this.path}: the disk is not keeping up (${queued} bytes waiting, limit ${this.opts.queueLimit}); ` +
          'recording stopped here, the rest of this session is not recorded',
      );
      this.recording = false;
      if (stream) {
        this.finish();
      } else {
        this.early.length = 1; // the header; the footer follows once the file is open
        this.earlyBytes = RECORDING_HEADER.length;
      }
      return;
    }
    if (stream) {
      stream.write(line);
    } else {
      this.early.push(line);
      this.earlyBytes += line.length;
    }
  }

  private onOpen(path: string, stream: WriteStream): void {
    this.path = path;
    this.stream = stream;
    this.opts.logger.info(`${this.logPrefix}: opening record file: ${path}`);
    stream.on('error', (err: NodeJS.ErrnoException) => {
      this.log(`writing ${path} failed: ${err.code ?? err.message}; recording stopped`);
      this.recording = false;
      stream.destroy();
    });
    stream.on('close', () => this.resolveDone());
    for (const line of this.early) stream.write(line);
    this.early = [];
    this.earlyBytes = 0;
    if (this.closed || !this.recording) this.finish();
  }

  private finish(): void {
    const stream = this.stream!;
    if (!stream.destroyed && !stream.writableEnded) stream.end(RECORDING_FOOTER);
  }
}
