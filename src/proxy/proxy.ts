// The proxy core, independent of how connections arrive: it takes HTTP upgrade requests (from
// our own listener or from an application's http/https server), runs the checks every upgrade
// shares, looks up and authorizes the target, has the protocol's handler complete the handshake
// (rfc6455-upgrade.ts, or hixie-upgrade.ts for legacy Hixie-75/76 requests), and
// runs one ProxySession per client. It also owns graceful shutdown of those sessions and of
// their recordings. Connections not yet in a session belong to whoever handed them over.

import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AuthPlugin } from '../auth/auth-plugin.js';
import { authorize } from '../auth/authorize.js';
import { byteCount } from '../log/log-format.js';
import type { Logger } from '../log/logger.js';
import { writeHttpError } from '../protocol/http-response.js';
import type { RefusalEvent, RefusalReason } from '../protocol/refusal-event.js';
import { UpgradeRefused } from '../errors/upgrade-refused.js';
import { checkUpgradeRequest } from '../protocol/upgrade-request.js';
import type { TargetResolver, TargetSpec } from '../targets/target.js';
import type { HandshakeDone, PendingHandshake } from './handshake.js';
import { HixieUpgrade } from './hixie-upgrade.js';
import { Recordings } from './recorder.js';
import { Rfc6455Upgrade } from './rfc6455-upgrade.js';
import { ProxySession, type SessionStats } from './session.js';
import type { TrafficTap } from './traffic.js';

export { UpgradeRefused, type RefusalDetails } from '../errors/upgrade-refused.js';

export interface ProxyCoreOptions {
  resolveTarget: TargetResolver;
  logger: Logger;
  traffic: TrafficTap | undefined;
  heartbeatMs: number;
  maxMessageSize: number;
  highWaterMark: number;
  /** How long a closing handshake or a target's final flush may take. */
  closeTimeoutMs: number;
  /** Checks each upgrade after its target is known; undefined lets every request in. */
  auth: AuthPlugin | undefined;
  /** How long a Hixie-76 client may take to send the key bytes after its request. */
  handshakeTimeoutMs: number;
  /** Base path of session recordings (`--record`); undefined when not recording. */
  record: string | undefined;
  recordQueueLimit: number;
  /** Legacy handshakes (Hixie-75/76, hybi-08) are accepted; false: RFC 6455 version 13 only. */
  legacy: boolean;
  /** How long connecting to a target may take (`--connect-timeout`; 0: no limit). */
  connectTimeoutMs: number;
  /** Largest frame payload sent to a client (`--max-frame-size`). */
  maxFrameSize: number;
}

/**
 * The connection an upgrade arrived on, as the core sees it (server/connection.ts's Connection):
 * its number and peer label for log lines, and where the core records that a session owns it
 * from now on. Until then the caller owns it (and destroys it when shutting down).
 */
export interface UpgradeConnection {
  readonly id: number;
  readonly peer: string;
  enter(stage: 'session'): void;
}

/** Everything one session is started from: an upgrade whose handshake has completed. */
interface SessionStart {
  conn: UpgradeConnection;
  /** When the request reached the core (performance.now()), for stats.handshakeMs. */
  arrived: number;
  path: string;
  handshake: PendingHandshake;
  done: HandshakeDone;
  target: TargetSpec;
}

export interface ProxyCoreEvents {
  /** A WebSocket handshake completed and its session started (stats.handshakeMs is set). */
  upgrade: [stats: SessionStats];
  /** Connecting a session's target succeeded or failed (stats.connectMs, stats.connectError). */
  'target-connect': [stats: SessionStats];
  /** A session ended (both sides closed; stats.durationMs and stats.closeCode are final). */
  'session-end': [stats: SessionStats];
  /** A connection was turned away before a session started. */
  refused: [refusal: RefusalEvent];
}

/** A promise, or any value with a `then` method that resolves like one (a plugin's). */
function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

export class ProxyCore extends EventEmitter<ProxyCoreEvents> {
  private readonly rfc6455: Rfc6455Upgrade;
  private readonly hixie: HixieUpgrade;
  private readonly recordings: Recordings | undefined;
  private readonly sessions = new Set<ProxySession>();
  private nextId = 1;
  private stopping = false;

  constructor(private readonly opts: ProxyCoreOptions) {
    super();
    this.rfc6455 = new Rfc6455Upgrade({
      maxMessageSize: opts.maxMessageSize,
      closeTimeoutMs: opts.closeTimeoutMs,
      maxReadSize: opts.maxFrameSize,
    });
    this.hixie = new HixieUpgrade(opts);
    if (opts.record !== undefined) {
      this.recordings = new Recordings({
        basePath: opts.record,
        queueLimit: opts.recordQueueLimit,
        logger: opts.logger,
      });
    }
  }

  /** Number of live WebSocket sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Allocates a connection number (used in log prefixes and recording names). */
  allocateId(): number {
    return this.nextId++;
  }

  /**
   * Handles one upgrade request that arrived on `conn`. Never throws: every failure becomes an
   * HTTP error response or a closed socket.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, conn: UpgradeConnection): void {
    const arrived = performance.now();
    const { peer } = conn;
    const label = `${conn.id}: ${peer}`;
    socket.on('error', (err) => this.opts.logger.debug(`${label}: socket error: ${err.message}`));
    const refused = (reason: RefusalReason, status: number): void => {
      this.emit('refused', { reason, status, peer });
    };
    /** Answers the upgrade with an error instead of a session, logs and reports it. */
    const refuse = (reason: RefusalReason, refusal: UpgradeRefused): void => {
      this.opts.logger.info(`${label}: refused upgrade: ${refusal.status} ${refusal.logMessage}`);
      writeHttpError(socket, refusal.status, refusal.message, refusal.headers, refusal.reason);
      refused(reason, refusal.status);
    };
    if (this.stopping) {
      writeHttpError(socket, 503, 'Server is shutting down');
      refused('draining', 503);
      return;
    }
    const problem = checkUpgradeRequest(req, { legacy: this.opts.legacy });
    if (problem) {
      refuse('bad-handshake', new UpgradeRefused(problem.status, problem.message, { headers: problem.headers }));
      return;
    }
    const handler = this.opts.legacy && HixieUpgrade.handles(req) ? this.hixie : this.rfc6455;
    const handshake = handler.begin(req, socket, head);
    if ('refused' in handshake) {
      refuse('bad-handshake', new UpgradeRefused(400, handshake.refused));
      return;
    }
    /** The handshake's answer once the target is known and allowed. */
    const answer = (target: TargetSpec): void => {
      if (socket.destroyed) return;
      const done = handshake.complete();
      if (isThenable(done)) void done.then((d) => started(d, target));
      else started(done, target);
    };
    const started = (done: HandshakeDone | string, target: TargetSpec): void => {
      if (socket.destroyed) return;
      if (typeof done === 'string') {
        this.opts.logger.info(`${label}: ${done}`);
        socket.destroy();
        refused('bad-handshake', 0);
        return;
      }
      this.startSession({ conn, arrived, path: req.url ?? '/', handshake, done, target });
    };
    let step: RefusalReason = 'token';
    const failed = (err: unknown): void => {
      if (socket.destroyed) return;
      const refusal =
        err instanceof UpgradeRefused ? err : new UpgradeRefused(502, err instanceof Error ? err.message : String(err));
      refuse(refusal.kind ?? step, refusal);
    };
    let resolved: TargetSpec | Promise<TargetSpec>;
    try {
      resolved = this.opts.resolveTarget(req);
    } catch (err) {
      failed(err);
      return;
    }
    // A fixed target and no auth plugin (the common case): the 101 goes out in this tick.
    if (!this.opts.auth && !isThenable(resolved)) {
      answer(resolved);
      return;
    }
    Promise.resolve(resolved)
      .then(async (target) => {
        step = 'auth';
        if (this.opts.auth) await authorize(this.opts.auth, req, target);
        return target;
      })
      .then(answer, failed);
  }

  private startSession({ conn, arrived, path, handshake, done, target }: SessionStart): void {
    const { id, peer } = conn;
    const { encoding, legacy } = handshake;
    conn.enter('session');
    const session = new ProxySession(done.client, {
      id,
      peer,
      path,
      encoding,
      target,
      logger: this.opts.logger,
      traffic: this.opts.traffic,
      recorder: this.recordings?.start(id, `${id}: ${peer}`),
      heartbeatMs: handshake.heartbeat ? this.opts.heartbeatMs : 0,
      highWaterMark: this.opts.highWaterMark,
      lingerMs: this.opts.closeTimeoutMs,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      maxFrameSize: this.opts.maxFrameSize,
      onConnectDone: (s) => this.emit('target-connect', s.stats),
      onEnd: (s) => this.endSession(s),
    });
    this.sessions.add(session);
    const { stats } = session;
    stats.handshakeMs = performance.now() - arrived;
    const details = this.opts.logger.verbose ? ` (${legacy ? `${legacy}, ` : ''}${encoding})` : '';
    this.opts.logger.info(
      `${id}: ${peer}: WebSocket connection on ${stats.path}${details}, proxying to ${stats.target}`,
      {
        event: 'open',
        id,
        peer,
        path: stats.path,
        target: stats.target,
      },
    );
    session.start();
    done.accept?.();
    this.emit('upgrade', stats);
    if (this.stopping) session.shutdown();
  }

  private endSession(session: ProxySession): void {
    this.sessions.delete(session);
    const s = session.stats;
    s.durationMs = Date.now() - s.startedAt;
    const duration = s.durationMs / 1000;
    const details = this.opts.logger.verbose ? ` (${s.encoding})` : '';
    this.opts.logger.info(
      `${s.id}: ${s.peer}: closed ${s.path}${details} to ${s.target}: ` +
        `${byteCount(s.bytesToTarget)} to target, ${byteCount(s.bytesToClient)} to client, ` +
        `${duration.toFixed(3)} s, code ${s.closeCode}`,
      {
        event: 'close',
        id: s.id,
        peer: s.peer,
        path: s.path,
        target: s.target,
        bytes: { toTarget: s.bytesToTarget, toClient: s.bytesToClient },
        duration,
        code: s.closeCode,
      },
    );
    this.emit('session-end', s);
  }

  /**
   * Closes every session with 1001 "Going away" and ends their targets; sessions still open
   * after `graceMs` are dropped. Resolves when all are gone and their recordings are written
   * (a recording still not written after the close timeout is left to finish on its own).
   * Upgrades not yet in a session are their owner's to destroy (the connection registry's);
   * one whose handshake completes after this is shut down as it starts.
   */
  async shutdown(graceMs = this.opts.closeTimeoutMs): Promise<void> {
    this.stopping = true;
    await this.closeSessions(graceMs);
    if (this.recordings) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.opts.closeTimeoutMs)));
      await Promise.race([this.recordings.flushed(), timeout]);
      clearTimeout(timer);
    }
  }

  private async closeSessions(graceMs: number): Promise<void> {
    if (this.sessions.size === 0) return;
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.off('session-end', onEnd);
        resolve();
      };
      const onEnd = (): void => {
        if (this.sessions.size === 0) finish();
      };
      const timer = setTimeout(() => {
        for (const session of [...this.sessions]) session.terminate();
        // Terminated sessions end on their sockets' close events; do not wait for them longer.
        setImmediate(finish);
      }, graceMs);
      this.on('session-end', onEnd);
      for (const session of [...this.sessions]) session.shutdown();
    });
  }
}
