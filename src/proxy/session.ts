// One proxied connection: a WebSocket client (RFC 6455 through `ws`, or a legacy Hixie client)
// bridged to its target socket, with backpressure both ways and the reference's close
// semantics. The session owns both sockets from the moment the upgrade completes until both
// are closed.

import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import type { DataEncoding } from '../protocol/subprotocol.js';
import { describeTarget, openTarget, type TargetSpec } from '../targets/target.js';
import type { ClientTransport } from './client-transport.js';
import { codecFor, isDecodeFailure, type Codec } from './codec.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
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
  /** Bytes queued toward one side above which the other side stops being read. */
  highWaterMark: number;
  /** How long to wait for the target to finish after the client has gone. */
  lingerMs: number;
  onEnd: (session: ProxySession) => void;
}

export class ProxySession {
  readonly stats: SessionStats;
  private readonly codec: Codec;
  /** The connected target; undefined until the connection is up. */
  private target: net.Socket | undefined;
  /** Client data received before the target connected. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private targetPaused = false;
  private clientPaused = false;
  private clientClosed = false;
  private targetClosed = false;
  private closing = false;
  private ended = false;
  private heartbeat: Heartbeat | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Cancels a connection attempt still in progress (shutdown, terminate). */
  private readonly connecting = new AbortController();

  constructor(
    private readonly ws: ClientTransport,
    private readonly clientSocket: Duplex,
    private readonly opts: SessionOptions,
  ) {
    this.codec = codecFor(opts.encoding);
    this.stats = {
      id: opts.id,
      peer: opts.peer,
      path: opts.path,
      encoding: opts.encoding,
      target: describeTarget(opts.target),
      bytesToTarget: 0,
      bytesToClient: 0,
      startedAt: Date.now(),
      closeCode: 1006,
    };
  }

  /** Wires the client and starts connecting to the target. */
  start(): void {
    const { ws, opts } = this;
    ws.on('message', this.onClientMessage);
    ws.on('close', this.onClientClose);
    ws.on('error', (err: Error) => this.log('debug', `client error: ${err.message}`));
    this.clientSocket.on('drain', this.onClientDrain);
    if (opts.heartbeatMs > 0) {
      this.heartbeat = startHeartbeat(
        ws,
        opts.heartbeatMs,
        () => this.clientPaused,
        () => {
          this.log('info', 'no pong for two heartbeat intervals; dropping client');
          ws.terminate();
        },
      );
    }
    this.log('debug', `connecting to target ${this.stats.target}`);
    openTarget(opts.target, this.connecting.signal).then(this.onTargetConnect, this.onTargetConnectFailed);
  }

  /**
   * Server shutdown: close the client with 1001 and end the target. The target is not given
   * the usual linger: it is closed as soon as everything queued for it has been written.
   */
  shutdown(): void {
    this.closeClient(CloseCode.goingAway, CloseReason.goingAway);
    const target = this.target;
    if (!target) this.connecting.abort(new Error('shutting down'));
    if (!target || this.targetClosed) return;
    target.end();
    if (target.writableFinished) target.destroy();
    else target.once('finish', () => target.destroy());
  }

  /** Drops both sides at once (used when a graceful close takes too long). */
  terminate(): void {
    this.ws.terminate();
    this.connecting.abort(new Error('terminated'));
    this.target?.destroy();
  }

  private log(level: 'debug' | 'info' | 'warn', message: string): void {
    this.opts.logger[level](`${this.opts.id}: ${this.opts.peer}: ${message}`);
  }

  // ---- client -> target ----

  private readonly onClientMessage = (data: Buffer, isBinary: boolean): void => {
    if (this.closing) return;
    this.heartbeat?.alive();
    this.opts.traffic?.clientReceive();
    const bytes = this.codec.fromClient(data, isBinary);
    if (isDecodeFailure(bytes)) {
      this.log('debug', `closing client: ${bytes.reason}`);
      this.closeClient(bytes.code, bytes.reason);
      return;
    }
    this.opts.recorder?.fromClient(bytes);
    if (bytes.length === 0) return;
    this.stats.bytesToTarget += bytes.length;
    const target = this.target;
    if (!target) {
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
      if (this.pendingBytes > this.opts.highWaterMark) this.pauseClient();
      return;
    }
    const flushed = target.write(bytes);
    this.opts.traffic?.targetSend(!flushed);
    if (!flushed) this.pauseClient();
  };

  private pauseClient(): void {
    if (!this.clientPaused) {
      this.clientPaused = true;
      this.ws.pause();
    }
  }

  private readonly onTargetDrain = (): void => {
    if (this.clientPaused && !this.closing) {
      this.clientPaused = false;
      this.ws.resume();
    }
  };

  private readonly onTargetConnect = (target: net.Socket): void => {
    this.target = target;
    target.on('data', this.onTargetData);
    target.on('drain', this.onTargetDrain);
    target.on('end', this.onTargetEnd);
    target.on('error', this.onTargetError);
    target.on('close', this.onTargetClose);
    this.log('debug', `connected to target ${this.stats.target}`);
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let flushed = true;
    for (const chunk of pending) {
      flushed = target.write(chunk);
      this.opts.traffic?.targetSend(!flushed);
    }
    if (this.clientClosed) {
      this.endTarget();
    } else if (flushed) {
      this.onTargetDrain();
    }
  };

  private readonly onClientClose = (code: number): void => {
    this.clientClosed = true;
    this.closing = true;
    this.stats.closeCode = code;
    this.heartbeat?.stop();
    this.log('debug', `client closed (${code})`);
    if (this.target) this.endTarget();
    this.maybeEnd();
  };

  /**
   * Ends the target after everything queued has been written. The target may still send; that
   * is drained and discarded (closing with unread data would reset the connection and could
   * lose what was queued), up to a bounded linger time.
   */
  private endTarget(): void {
    const target = this.target;
    if (!target || this.targetClosed) return;
    target.end();
    if (this.targetPaused) target.resume();
    this.lingerTimer ??= setTimeout(() => target.destroy(), this.opts.lingerMs);
  }

  // ---- target -> client ----

  private readonly onTargetData = (chunk: Buffer): void => {
    if (this.clientClosed) return; // draining after the client left
    this.opts.traffic?.targetReceive();
    this.stats.bytesToClient += chunk.length;
    this.opts.recorder?.toClient(chunk);
    const { ws } = this;
    ws.send(this.codec.toClient(chunk));
    const full = ws.bufferedAmount > this.opts.highWaterMark;
    this.opts.traffic?.clientSend(full);
    if (full && !this.targetPaused) {
      this.targetPaused = true;
      this.target!.pause();
    }
  };

  private readonly onClientDrain = (): void => {
    if (this.targetPaused && !this.clientClosed && this.ws.bufferedAmount <= this.opts.highWaterMark) {
      this.targetPaused = false;
      this.target!.resume();
    }
  };

  private readonly onTargetEnd = (): void => {
    this.log('debug', 'target closed');
    this.closeClient(CloseCode.normal, CloseReason.targetClosed);
  };

  private readonly onTargetConnectFailed = (err: NodeJS.ErrnoException): void => {
    this.log('info', `failed to connect to ${this.stats.target}: ${err.code ?? err.message}`);
    this.targetClosed = true;
    this.closeClient(CloseCode.internalError, CloseReason.connectFailed);
    this.maybeEnd();
  };

  private readonly onTargetError = (err: NodeJS.ErrnoException): void => {
    this.log('info', `target error: ${err.code ?? err.message}`);
    this.closeClient(CloseCode.internalError, CloseReason.targetError);
  };

  private readonly onTargetClose = (): void => {
    this.targetClosed = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    // A target that vanished without an orderly end still closes the client.
    this.closeClient(CloseCode.normal, CloseReason.targetClosed);
    this.maybeEnd();
  };

  /** Starts the closing handshake with the client after everything queued for it. */
  private closeClient(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.heartbeat?.stop();
    // A paused socket would never read the client's answering close frame.
    if (this.clientPaused) this.ws.resume();
    this.ws.close(code, reason);
  }

  private maybeEnd(): void {
    if (this.ended || !this.clientClosed || !this.targetClosed) return;
    this.ended = true;
    this.clientSocket.off('drain', this.onClientDrain);
    this.opts.recorder?.close();
    this.opts.onEnd(this);
  }
}
