// The proxy core, independent of how connections arrive: it takes HTTP upgrade requests (from
// our own listener or from an application's http/https server), negotiates the subprotocol,
// resolves the target, completes the WebSocket handshake (with `ws`, or for legacy Hixie-75/76
// requests with HixieClient), and runs one ProxySession per client. It also owns graceful
// shutdown of those sessions and of their recordings.

import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type ServerOptions } from 'ws';
import type { AuthPlugin } from '../auth/auth-plugin.js';
import { authorize } from '../auth/authorize.js';
import { byteCount } from '../log/log-format.js';
import type { Logger } from '../log/logger.js';
import { writeHttpError } from '../protocol/http-response.js';
import { checkHixieRequest, hixieVersion, type HixieVersion } from '../protocol/hixie.js';
import { UpgradeRefused } from '../errors/upgrade-refused.js';
import { checkUpgradeRequest } from '../protocol/upgrade-request.js';
import { selectSubprotocol, type DataEncoding } from '../protocol/subprotocol.js';
import type { TargetResolver, TargetSpec } from '../targets/target.js';
import type { ClientTransport } from './client-transport.js';
import { HixieClient, readHixieKey3 } from './hixie-client.js';
import { Recordings } from './recorder.js';
import { Rfc6455Client } from './rfc6455-client.js';
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
 * `ws` does the RFC 6455 handshake (validation, the 101 with Sec-WebSocket-Accept and the
 * subprotocol); this WebSocket class it then hands the socket to keeps the socket and head for
 * our own data path instead of starting ws's receiver and sender.
 */
class HandshakeOnly extends WebSocket {
  socket: Duplex | undefined;
  head: Buffer | undefined;
  setSocket(socket: Duplex, head: Buffer): void {
    this.socket = socket;
    this.head = head;
  }
}

const kEncoding = Symbol('websockify.encoding');
type TaggedRequest = IncomingMessage & { [kEncoding]?: DataEncoding };

export interface ProxyCoreEvents {
  /** A WebSocket handshake completed and its session started. */
  upgrade: [stats: SessionStats];
  /** A session ended (both sides closed). */
  'session-end': [stats: SessionStats];
}

export class ProxyCore extends EventEmitter<ProxyCoreEvents> {
  private readonly wss: WebSocketServer;
  private readonly recordings: Recordings | undefined;
  private readonly sessions = new Set<ProxySession>();
  /** Sockets between the upgrade request and the 101 (target lookups may be slow). */
  private readonly handshaking = new Set<Duplex>();
  private nextId = 1;
  private stopping = false;

  constructor(private readonly opts: ProxyCoreOptions) {
    super();
    // ws only does the handshake (HandshakeOnly takes the socket), so its receiver's and
    // sender's limits do not apply: Rfc6455Client gets maxMessageSize and closeTimeoutMs.
    const serverOptions: ServerOptions = {
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      handleProtocols: (_offered, req) => (req as TaggedRequest)[kEncoding] ?? false,
      WebSocket: HandshakeOnly,
    };
    this.wss = new WebSocketServer(serverOptions);
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

  /** Allocates a connection number (used in log prefixes and, later, recording names). */
  allocateId(): number {
    return this.nextId++;
  }

  /**
   * Handles one upgrade request. `id` is the connection number and `peer` the client's label
   * (e.g. `unix:PATH`) when the caller has them. Never throws: every failure becomes an HTTP
   * error response or a closed socket.
   */
  handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    id = this.allocateId(),
    peer = req.socket.remoteAddress ?? 'unknown',
  ): void {
    socket.on('error', (err) => this.opts.logger.debug(`${id}: socket error: ${err.message}`));
    if (this.stopping) {
      writeHttpError(socket, 503, 'Server is shutting down');
      return;
    }
    const problem = checkUpgradeRequest(req, { legacy: this.opts.legacy });
    if (problem) {
      this.opts.logger.info(`${id}: ${peer}: refused upgrade: ${problem.status} ${problem.message}`);
      writeHttpError(socket, problem.status, problem.message, problem.headers);
      return;
    }
    const legacy = hixieVersion(req);
    let encoding: DataEncoding = 'base64'; // Hixie carries text only
    if (legacy) {
      const problem = checkHixieRequest(req, legacy);
      if (problem) {
        this.opts.logger.info(`${id}: ${peer}: refused ${legacy} upgrade: ${problem}`);
        writeHttpError(socket, 400, problem);
        return;
      }
    } else {
      const choice = selectSubprotocol(req.headers['sec-websocket-protocol']);
      if (!choice.ok) {
        this.opts.logger.info(`${id}: ${peer}: refused upgrade: ${choice.reason}`);
        writeHttpError(socket, 400, choice.reason);
        return;
      }
      (req as TaggedRequest)[kEncoding] = choice.protocol;
      encoding = choice.encoding;
    }
    this.handshaking.add(socket);
    const done = (): boolean => this.handshaking.delete(socket) && !socket.destroyed;
    // Hixie-76 sends 8 more bytes after the headers: read them while the target is resolved.
    const legacyBytes = legacy && readHixieKey3(legacy, socket, head, this.opts.handshakeTimeoutMs);
    Promise.resolve()
      .then(() => this.opts.resolveTarget(req))
      .then(async (target) => {
        if (this.opts.auth) await authorize(this.opts.auth, req, target);
        return target;
      })
      .then(
        async (target) => {
          const bytes = legacyBytes && (await legacyBytes);
          if (!done()) return;
          if (!legacy) {
            this.wss.handleUpgrade(req, socket, head, (ws) => {
              const taken = ws as HandshakeOnly;
              const client = new Rfc6455Client(taken.socket!, taken.head!, {
                maxMessageSize: this.opts.maxMessageSize,
                closeTimeoutMs: this.opts.closeTimeoutMs,
                maxReadSize: this.opts.maxFrameSize,
              });
              this.startSession(client, req, id, peer, encoding, target);
            });
          } else if (!bytes) {
            this.opts.logger.info(`${id}: ${peer}: ${legacy} client sent no key3 within the handshake deadline`);
            socket.destroy();
          } else {
            const client = new HixieClient(socket, this.opts);
            this.startSession(client, req, id, peer, encoding, target, legacy, () => client.accept(req, legacy, bytes));
          }
        },
        (err: unknown) => {
          if (!done()) return;
          const refusal =
            err instanceof UpgradeRefused
              ? err
              : new UpgradeRefused(502, err instanceof Error ? err.message : String(err));
          this.opts.logger.info(`${id}: ${peer}: refused upgrade: ${refusal.status} ${refusal.logMessage}`);
          writeHttpError(socket, refusal.status, refusal.message, refusal.headers, refusal.reason);
        },
      );
  }

  /** `accept` completes a handshake that waits for the session's listeners (Hixie). */
  private startSession(
    client: ClientTransport,
    req: IncomingMessage,
    id: number,
    peer: string,
    encoding: DataEncoding,
    target: TargetSpec,
    legacy?: HixieVersion,
    accept?: () => void,
  ): void {
    const session = new ProxySession(client, {
      id,
      peer,
      path: req.url ?? '/',
      encoding,
      target,
      logger: this.opts.logger,
      traffic: this.opts.traffic,
      recorder: this.recordings?.start(id, `${id}: ${peer}`),
      // Hixie has no ping frame.
      heartbeatMs: legacy ? 0 : this.opts.heartbeatMs,
      highWaterMark: this.opts.highWaterMark,
      lingerMs: this.opts.closeTimeoutMs,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      maxFrameSize: this.opts.maxFrameSize,
      onEnd: (s) => this.endSession(s),
    });
    this.sessions.add(session);
    const { stats } = session;
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
    accept?.();
    this.emit('upgrade', stats);
    if (this.stopping) session.shutdown();
  }

  private endSession(session: ProxySession): void {
    this.sessions.delete(session);
    const s = session.stats;
    const duration = (Date.now() - s.startedAt) / 1000;
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
   */
  async shutdown(graceMs = this.opts.closeTimeoutMs): Promise<void> {
    this.stopping = true;
    for (const socket of this.handshaking) socket.destroy();
    this.handshaking.clear();
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
