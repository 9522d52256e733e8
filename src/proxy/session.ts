// One proxied connection: a WebSocket client (RFC 6455 or legacy Hixie, as a ClientTransport)
// bridged to its target socket, with the reference's close semantics. Bytes move one read at a
// time: a read from one side is written to the other (client payload pieces corked into one
// writev) and, while the other side has not taken all of it, that side is not read again, so
// a session holds at most one read per direction. The session owns both sockets from the moment
// the upgrade completes until both are closed.

import type net from 'node:net';
import type { Logger } from '../log/logger.js';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import type { DataEncoding } from '../protocol/subprotocol.js';
import { describeTarget, openTarget, type CancelConnect, type TargetSpec } from '../targets/target.js';
import type { ClientHandlers, ClientTransport } from './client-transport.js';
import { codecFor, isDecodeFailure, type Codec } from './codec.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import { HEADROOM, onreadOption, ReadBuffers, rearmHook } from './read-buffers.js';
import type { SessionRecorder } from './recorder.js';
import type { TrafficTap } from './traffic.js';

export interface SessionStats {
  id: number;
  peer: string;
  path: string;
  encoding: DataEncoding;
  target: string;
  bytesToTarget: number;
  bytesToClient: number;
  startedAt: number;
  /** Milliseconds from the upgrade request to the session's start (token lookup, auth, 101). */
  handshakeMs: number;
  /** Milliseconds connecting to the target took, to success or failure; undefined until then. */
  connectMs: number | undefined;
  /** Why connecting to the target failed (`ECONNREFUSED`, `ETIMEDOUT`...); undefined otherwise. */
  connectError: string | undefined;
  /** Milliseconds from start to end; undefined until the session ended. */
  durationMs: number | undefined;
  /** Close code the client saw or sent (1005 when it sent none, 1006 when it just vanished). */
  closeCode: number;
}

export interface SessionOptions {
  id: number;
  peer: string;
  path: string;
  encoding: DataEncoding;
  target: TargetSpec;
  logger: Logger;
  traffic: TrafficTap | undefined;
  /** Records the session's data (`--record`); undefined when not recording. */
  recorder: SessionRecorder | undefined;
  /** Ping interval in ms; 0 disables the heartbeat. */
  heartbeatMs: number;
  /** Client bytes held while the target is not connected (or stalled) before the client is paused. */
  highWaterMark: number;
  /** How long to wait for the target to finish after the client has gone; also the stall limit. */
  lingerMs: number;
  /** How long connecting to the target may take (0: no limit). */
  connectTimeoutMs: number;
  /** Largest frame payload sent to the client. */
  maxFrameSize: number;
  /** Connecting to the target succeeded or failed (stats.connectMs and connectError are set). */
  onConnectDone: (session: ProxySession) => void;
  onEnd: (session: ProxySession) => void;
}

export class ProxySession implements ClientHandlers {
  readonly stats: SessionStats;
  private readonly codec: Codec;
  private readonly targetBuffers: ReadBuffers;
  /** The connected target; undefined until the connection is up. */
  private target: net.Socket | undefined;
  private cancelConnect: CancelConnect | undefined;
  /** Client data held (copied) while the target is not connected or has stalled. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The target is corked while the pieces of one client read are written. */
  private corked = false;
  /** A piece of the current client read was written to the target without a copy. */
  private wroteInPlace = false;
  private targetPaused = false;
  private clientPaused = false;
  private clientClosed = false;
  private targetClosed = false;
  private closing = false;
  private ended = false;
  /** The target has taken nothing for the stall limit while the client waited: probing. */
  private stalled = false;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Client bytes dropped while the target was stalled (beyond the bound). */
  private discarded = 0;
  private heartbeat: Heartbeat | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: ClientTransport,
    private readonly opts: SessionOptions,
  ) {
    this.codec = codecFor(opts.encoding);
    // A read is one frame: base64 text is 4/3 of the bytes it carries.
    const readSize = this.codec.text ? Math.floor(opts.maxFrameSize / 4) * 3 : opts.maxFrameSize;
    this.targetBuffers = new ReadBuffers(Math.max(readSize, 3));
    this.stats = {
      id: opts.id,
      peer: opts.peer,
      path: opts.path,
      encoding: opts.encoding,
      target: describeTarget(opts.target),
      bytesToTarget: 0,
      bytesToClient: 0,
      startedAt: Date.now(),
      handshakeMs: 0,
      connectMs: undefined,
      connectError: undefined,
      durationMs: undefined,
      closeCode: 1006,
    };
  }

  /** Wires the client and starts connecting to the target. */
  start(): void {
    const { client, opts } = this;
    client.start(this);
    if (opts.heartbeatMs > 0 && !this.clientClosed) {
      this.heartbeat = startHeartbeat(
        client,
        opts.heartbeatMs,
        () => this.clientPaused || client.bufferedAmount > 0,
        () => {
          this.log('info', 'no pong for two heartbeat intervals; dropping client');
          client.terminate();
        },
      );
    }
    this.log('debug', `connecting to target ${this.stats.target}`);
    const onread = onreadOption(this.targetBuffers, () => this.onTargetRead);
    const connectStarted = performance.now();
    this.cancelConnect = openTarget(opts.target, { timeoutMs: opts.connectTimeoutMs, onread }, (err, socket) => {
      this.cancelConnect = undefined;
      this.stats.connectMs = performance.now() - connectStarted;
      if (err) this.stats.connectError = err.code ?? err.message;
      opts.onConnectDone(this);
      if (err) this.onTargetConnectFailed(err);
      else this.onTargetConnect(socket!);
    });
  }

  /**
   * Server shutdown: close the client with 1001 and end the target. The target is not given
   * the usual linger: it is closed as soon as everything queued for it has been written.
   */
  shutdown(): void {
    this.closeClient(CloseCode.goingAway, CloseReason.goingAway);
    const target = this.target;
    if (!target && this.cancelConnect) {
      // No target will come: the session ends when the client has closed.
      this.abandonConnect();
      this.targetClosed = true;
      this.maybeEnd();
    }
    if (!target || this.targetClosed) return;
    target.end();
    if (target.writableFinished) target.destroy();
    else target.once('finish', () => target.destroy());
  }

  /** Drops both sides at once (used when a graceful close takes too long). */
  terminate(): void {
    this.client.terminate();
    this.abandonConnect();
    this.target?.destroy();
  }

  private log(level: 'debug' | 'info' | 'warn', message: string): void {
    this.opts.logger[level](`${this.opts.id}: ${this.opts.peer}: ${message}`);
  }

  // ---- client -> target (ClientHandlers) ----

  data(payload: Buffer, binary: boolean, last: boolean, shared: boolean): void {
    if (this.closing) return;
    this.heartbeat?.alive();
    if (last) this.opts.traffic?.clientReceive();
    const bytes = this.codec.fromClient(payload, binary, last);
    if (isDecodeFailure(bytes)) {
      this.log('debug', `closing client: ${bytes.reason}`);
      this.closeClient(bytes.code, bytes.reason);
      return;
    }
    if (bytes.length === 0) return;
    this.opts.recorder?.fromClient(bytes);
    this.stats.bytesToTarget += bytes.length;
    const inPlace = bytes === payload;
    const target = this.target;
    if (!target || this.stalled) {
      if (this.stalled && this.pendingBytes >= this.opts.highWaterMark) {
        this.discarded += bytes.length;
        return;
      }
      this.pending.push(inPlace ? Buffer.from(bytes) : bytes);
      this.pendingBytes += bytes.length;
      return;
    }
    if (!this.corked) {
      this.corked = true;
      target.cork();
    }
    if (inPlace && !shared) this.wroteInPlace = true;
    target.write(inPlace && shared ? Buffer.from(bytes) : bytes, this.onTargetWritten);
  }

  readDone(): boolean {
    if (this.corked) {
      this.corked = false;
      const target = this.target!;
      target.uncork();
      const full = target.writableLength > 0;
      this.opts.traffic?.targetSend(full);
      if (full) {
        if (this.wroteInPlace) this.client.pinRead();
        this.wroteInPlace = false;
        return this.holdClient();
      }
    }
    this.wroteInPlace = false;
    if (this.closing || this.stalled) return true;
    if (this.pendingBytes > this.opts.highWaterMark) return this.holdClient();
    return true;
  }

  pong(): void {
    this.heartbeat?.alive();
  }

  debug(message: string): void {
    this.log('debug', message);
  }

  /** Stops reading the client until the target has taken what it was given. */
  private holdClient(): boolean {
    if (this.closing) return true;
    this.clientPaused = true;
    if (this.target && !this.stallTimer) {
      this.stallTimer = setTimeout(this.onStall, this.opts.lingerMs);
    }
    return false;
  }

  /**
   * The target took nothing for the stall limit while the client waited behind it. The client
   * may have left meanwhile, its close frame or EOF unread behind its data: read it again, to
   * find out. What it sends is held up to the usual bound and discarded beyond it, so that a
   * client that closed or vanished ends the session whatever the target does. If the target
   * does take data again after something was discarded, the stream has a hole: both sides are
   * closed (1011) rather than go on with bytes missing.
   */
  private readonly onStall = (): void => {
    this.stallTimer = undefined;
    if (!this.clientPaused || this.closing || !this.target) return;
    this.log('debug', `target took nothing for ${this.opts.lingerMs / 1000} s; reading the client to see if it left`);
    this.stalled = true;
    this.clientPaused = false;
    this.client.resume(false);
  };

  private readonly onTargetWritten = (): void => {
    if (this.target && this.target.writableLength === 0) this.onTargetDrain();
  };

  /** Everything given to the target was written: the held data goes next, then the client is read. */
  private onTargetDrain(): void {
    if (!this.clientPaused && !this.stalled) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const wasStalled = this.stalled;
    this.stalled = false;
    if (this.discarded > 0) {
      this.log('info', `target stalled and ${this.discarded} client bytes were dropped; closing both sides`);
      this.closeClient(CloseCode.internalError, CloseReason.targetStalled);
      this.target?.destroy();
      return;
    }
    if (this.pending.length > 0 && this.flushPending()) {
      // Still full: wait for the next drain (the client's read buffer is free, the data was copied).
      this.clientPaused = true;
      this.stallTimer = setTimeout(this.onStall, this.opts.lingerMs);
      return;
    }
    if (this.closing) return;
    if (this.clientPaused || wasStalled) {
      this.clientPaused = false;
      this.client.resume(true);
    }
  }

  /** Writes the held client data to the target; true when the target did not take it all. */
  private flushPending(): boolean {
    const target = this.target!;
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    target.cork();
    for (const chunk of pending) target.write(chunk, this.onTargetWritten);
    target.uncork();
    const full = target.writableLength > 0;
    this.opts.traffic?.targetSend(full);
    return full;
  }

  private onTargetConnect(target: net.Socket): void {
    this.target = target;
    if (!this.isReadingWithBuffers(target)) {
      target.on('data', (chunk: Buffer) => {
        if (!this.onTargetRead(chunk, 0, chunk.length, false, false)) target.pause();
      });
    } else {
      this.targetBuffers.setRearm(rearmHook(target));
    }
    target.on('end', this.onTargetEnd);
    target.on('error', this.onTargetError);
    target.on('close', this.onTargetClose);
    this.log('debug', `connected to target ${this.stats.target}`);
    const full = this.pending.length > 0 && this.flushPending();
    if (this.clientClosed) {
      this.endTarget();
    } else if (this.clientPaused && !full) {
      this.clientPaused = false;
      this.client.resume(true);
    } else if (full) {
      this.clientPaused = true;
    }
  }

  /** Whether `socket` was opened with the `onread` buffers (a TLS target reads `data` events). */
  private isReadingWithBuffers(socket: net.Socket): boolean {
    return (socket as { encrypted?: boolean }).encrypted !== true;
  }

  closed(code: number): void {
    if (this.clientClosed) return;
    this.clientClosed = true;
    this.closing = true;
    this.stats.closeCode = code;
    this.heartbeat?.stop();
    clearTimeout(this.stallTimer);
    this.log('debug', `client closed (${code})`);
    if (this.target) this.endTarget();
    else if (this.cancelConnect && this.pendingBytes === 0) {
      // Nobody is waiting for this target any more (held data would still be delivered).
      this.abandonConnect();
      this.targetClosed = true;
    }
    this.maybeEnd();
  }

  private abandonConnect(): void {
    const cancel = this.cancelConnect;
    this.cancelConnect = undefined;
    cancel?.();
  }

  /**
   * Ends the target after everything queued has been written. The target may still send; that
   * is drained and discarded (closing with unread data would reset the connection and could
   * lose what was queued), up to a bounded linger time. A target that had stalled is dropped.
   */
  private endTarget(): void {
    const target = this.target;
    if (!target || this.targetClosed) return;
    if (this.stalled) {
      this.log(
        'info',
        `client left while the target took nothing; dropping ${this.pendingBytes + this.discarded} unsent bytes`,
      );
      target.destroy();
      return;
    }
    if (this.pending.length > 0) this.flushPending();
    target.end();
    if (this.targetPaused) {
      this.targetPaused = false;
      this.targetBuffers.unpin();
      target.resume();
    }
    this.lingerTimer ??= setTimeout(() => target.destroy(), this.opts.lingerMs);
  }

  // ---- target -> client ----

  private readonly onTargetRead = (
    buf: Buffer,
    start: number,
    end: number,
    room: boolean,
    shared: boolean,
  ): boolean => {
    if (this.clientClosed) return true; // draining after the client left
    const { client, opts } = this;
    opts.traffic?.targetReceive();
    this.stats.bytesToClient += end - start;
    opts.recorder?.toClient(buf.subarray(start, end));
    const encoded = this.codec.toClient(buf, start, end);
    let inPlace = false;
    if (encoded) {
      this.sendCapped(encoded, HEADROOM, encoded.length, true);
    } else if (shared) {
      const copy = Buffer.allocUnsafe(HEADROOM + end - start);
      buf.copy(copy, HEADROOM, start, end);
      this.sendCapped(copy, HEADROOM, copy.length, false);
    } else {
      inPlace = room;
      this.sendCapped(buf, start, end, false, room);
    }
    const full = client.bufferedAmount > 0;
    opts.traffic?.clientSend(full);
    if (!full) return true;
    if (inPlace) this.targetBuffers.pin();
    this.targetPaused = true;
    return false;
  };

  /** Sends one read as one frame, or in frames of at most maxFrameSize (a larger `data` chunk). */
  private sendCapped(buf: Buffer, start: number, end: number, text: boolean, room = true): void {
    let cap = this.opts.maxFrameSize;
    if (end - start <= cap) {
      this.client.send(buf, start, end, room, text);
      return;
    }
    if (text) cap -= cap % 4; // each base64 message must decode on its own
    for (let at = start; at < end; at += cap) this.client.send(buf, at, Math.min(end, at + cap), false, text);
  }

  drain(): void {
    this.heartbeat?.progress();
    if (this.targetPaused && !this.clientClosed && this.client.bufferedAmount === 0) {
      this.targetPaused = false;
      this.targetBuffers.unpin();
      this.target!.resume();
    }
  }

  private readonly onTargetEnd = (): void => {
    this.log('debug', 'target closed');
    this.closeClient(CloseCode.normal, CloseReason.targetClosed);
  };

  private onTargetConnectFailed(err: NodeJS.ErrnoException): void {
    this.log('info', `failed to connect to ${this.stats.target}: ${err.code ?? err.message}`);
    this.targetClosed = true;
    this.closeClient(CloseCode.internalError, CloseReason.connectFailed);
    this.maybeEnd();
  }

  private readonly onTargetError = (err: NodeJS.ErrnoException): void => {
    this.log('info', `target error: ${err.code ?? err.message}`);
    this.closeClient(CloseCode.internalError, CloseReason.targetError);
  };

  private readonly onTargetClose = (): void => {
    this.targetClosed = true;
    this.targetBuffers.release();
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    clearTimeout(this.stallTimer);
    // A target that vanished without an orderly end still closes the client.
    this.closeClient(CloseCode.normal, CloseReason.targetClosed);
    this.maybeEnd();
  };

  /** Starts the closing handshake with the client after everything queued for it. */
  private closeClient(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.heartbeat?.stop();
    clearTimeout(this.stallTimer);
    this.clientPaused = false;
    this.client.close(code, reason);
  }

  private maybeEnd(): void {
    if (this.ended || !this.clientClosed || !this.targetClosed) return;
    this.ended = true;
    this.opts.recorder?.close();
    this.opts.onEnd(this);
  }
}
