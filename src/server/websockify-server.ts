// A standalone websockify server: listener (TCP, unix socket or inherited socket) -> intake
// (first-byte sniffing, TLS) -> HTTP front end -> proxy core, each accepted socket tracked as one
// Connection (connection.ts) from accept to close, plus the lifetime rules (--run-once,
// --timeout, --idle-timeout) and graceful close. The CLI is a thin layer over this
// class; applications can use it directly or use attachWebsockify() instead.

import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type * as net from 'node:net';
import { resolveOptions, type ResolvedOptions, type WebsockifyOptions } from '../config/options.js';
import { writeHttpError } from '../protocol/http-response.js';
import { ProxyCore } from '../proxy/proxy.js';
import type { SessionStats } from '../proxy/session.js';
import { TlsCredentials } from '../tls/credentials.js';
import { ConnectionRegistry, type Connection } from './connection.js';
import { createHttpFrontend } from './http-frontend.js';
import { FdLimitGuard } from './fd-limit.js';
import { ConnectionIntake } from './intake.js';
import { TlsFrontend } from './tls-frontend.js';
import { createListener, describeListen, listenOn } from './listener.js';
import { unixSocketPath } from './passed-socket.js';
import { createRequestHandler } from './plain-http.js';
import { authGate } from '../auth/web-gate.js';

export interface WebsockifyServerEvents {
  upgrade: [stats: SessionStats];
  'session-end': [stats: SessionStats];
  /** The server stopped by itself (--run-once, --timeout, --idle-timeout) and is now closed. */
  done: [reason: string];
}

export class WebsockifyServer extends EventEmitter<WebsockifyServerEvents> {
  readonly options: ResolvedOptions;
  private readonly core: ProxyCore;
  private readonly http: http.Server;
  private readonly listener: net.Server;
  private readonly intake: ConnectionIntake;
  /** TLS credentials (reloaded when their files change); undefined when TLS is off. */
  private readonly tls: TlsCredentials | undefined;
  /** Every open connection, from accept to close. */
  private readonly connections: ConnectionRegistry;
  /** Refuses, and reports, connections at the open-file limit. */
  private readonly fdLimit: FdLimitGuard;
  private idleTimer: NodeJS.Timeout | undefined;
  private lifetimeTimer: NodeJS.Timeout | undefined;
  private accepting = false;
  private closing: Promise<void> | undefined;
  private upgradedOnce = false;
  /** Set once --timeout fired: why the server will finish when its sessions end. */
  private lifetimeReason: string | undefined;

  /** Throws ConfigError for bad options and TlsSetupError for unusable TLS files. */
  constructor(options: WebsockifyOptions) {
    super();
    this.options = resolveOptions(options);
    const o = this.options;
    this.tls = o.tls ? new TlsCredentials(o.tls, o.logger) : undefined;
    this.core = new ProxyCore(o); // ResolvedOptions carries every ProxyCore option
    this.core.on('upgrade', (stats) => this.onUpgrade(stats));
    this.core.on('session-end', (stats) => this.onSessionEnd(stats));
    this.connections = new ConnectionRegistry({
      deadlineMs: o.handshakeTimeoutMs,
      logger: o.logger,
      onEmpty: () => this.armIdleTimer(),
    });
    this.fdLimit = new FdLimitGuard(o.logger);
    const connectionOf = (socket: object): Connection | undefined => this.connections.of(socket);
    this.http = createHttpFrontend({
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      maxHeaderSize: o.maxHeaderSize,
      logger: o.logger,
      connectionOf,
      onRequest: createRequestHandler({
        web: o.web,
        fileOnly: o.fileOnly,
        logger: o.logger,
        peerOf: (req) => connectionOf(req.socket)?.peer ?? req.socket.remoteAddress ?? 'unknown',
        ...(o.webAuth && o.auth ? { gate: authGate(o.auth, o.logger) } : {}),
      }),
      onUpgrade: (req, socket, head) => {
        if (this.upgradedOnce && o.runOnce) {
          // --run-once serves one WebSocket session; a kept-alive HTTP connection gets no second.
          writeHttpError(socket, 503, 'This server handles a single WebSocket connection (--run-once)');
          return;
        }
        const conn = connectionOf(req.socket);
        this.core.handleUpgrade(req, socket, head, conn?.id, conn?.peer);
      },
    });
    const toHttp = (conn: Connection): void => {
      // Until the request headers are in, the deadline answers 408 (over TLS when it is TLS).
      conn.enter('http', () => writeHttpError(conn.socket, 408));
      this.http.emit('connection', conn.socket);
    };
    const tlsFrontend =
      this.tls &&
      new TlsFrontend({
        credentials: this.tls,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
        logger: o.logger,
        connectionOf,
        onSecure: (conn, socket) => {
          this.connections.wrap(conn, socket);
          toHttp(conn);
        },
      });
    this.intake = new ConnectionIntake({
      deadlineMs: o.handshakeTimeoutMs,
      tls: tlsFrontend,
      sslOnly: o.tls?.sslOnly ?? false,
      flashPolicy: o.legacy,
      logger: o.logger,
      handOff: toHttp,
    });
    this.listener = createListener((socket) => this.onConnection(socket));
    // Errors from accept() (libuv reports EMFILE only when it cannot shed the connection itself).
    this.listener.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EMFILE' || err.code === 'ENFILE') this.fdLimit.refused(err.code);
      else if (this.accepting) o.logger.error(`Accepting a connection failed: ${err.message}`);
    });
  }

  /**
   * Opens the listen source (a TCP address, a unix socket or an inherited socket). Rejects with
   * the OS error (e.g. EADDRINUSE) on failure.
   */
  async listen(): Promise<net.AddressInfo | string> {
    const o = this.options;
    await listenOn(this.listener, o.listen, o.preferIpv6, o.logger);
    const bound = this.listener.address();
    if (typeof bound === 'string' || bound === null) {
      const path = bound || (o.listen.kind === 'fd' ? unixSocketPath(o.listen.fd) : undefined);
      this.connections.unixPeer = `unix:${path || '(unnamed)'}`;
    }
    this.accepting = true;
    this.tls?.watch();
    if (o.timeoutMs > 0) {
      this.lifetimeTimer = setTimeout(() => {
        const reason = `listener exit due to --timeout ${o.timeoutMs / 1000}`;
        // The port is closed before the line says so (stopAccepting may also finish at once).
        void this.closeListener();
        o.logger.info(reason);
        this.stopAccepting(reason);
      }, o.timeoutMs);
    }
    this.armIdleTimer();
    return this.address();
  }

  /**
   * Serves connections accepted elsewhere instead of listening: a cluster worker, whose primary
   * holds the listen socket and hands each socket to accept(). `unixPeer` names the clients of
   * a unix listen socket (`unix:PATH`). No lifetime timers run here; they are the primary's.
   */
  serveAccepted(unixPeer: string | undefined): void {
    if (unixPeer !== undefined) this.connections.unixPeer = unixPeer;
    this.accepting = true;
    this.tls?.watch();
  }

  /** Takes a socket accepted elsewhere (see serveAccepted), numbered `id` for logs and recordings. */
  accept(socket: net.Socket, id: number): void {
    this.onConnection(socket, id);
  }

  /**
   * --run-once in a cluster: another worker started the one session, so further upgrades here
   * are refused (503) as after this server's own.
   */
  sessionTakenElsewhere(): void {
    this.upgradedOnce = true;
  }

  /**
   * Reads the TLS certificate, key and CA files again now (SIGHUP); open sessions are not
   * touched, new handshakes use the new files. Files that do not load are logged and the
   * previous ones stay in use.
   */
  reload(): void {
    this.tls?.reload();
  }

  /** The bound address: host and port, or a unix socket's path. */
  address(): net.AddressInfo | string {
    return this.listener.address() ?? '';
  }

  /** Where the server listens, for people: "0.0.0.0:6080", "unix socket /run/ws.sock (mode 0600)"... */
  describeListen(): string {
    return describeListen(this.options.listen, this.listener.address());
  }

  /** Live WebSocket sessions. */
  get sessionCount(): number {
    return this.core.sessionCount;
  }

  /**
   * Stops accepting, closes every client with 1001 "Going away", ends the targets and resolves
   * when everything is closed (sessions still open after the close timeout are dropped).
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    clearTimeout(this.lifetimeTimer);
    clearTimeout(this.idleTimer);
    this.tls?.stop();
    const listenerClosed = this.closeListener();
    // Every connection the proxy core does not own (it closes its sessions with 1001 below).
    this.connections.destroy();
    this.http.close(); // stops the front end's deadline checks
    this.fdLimit.flush();
    await this.core.shutdown();
    await listenerClosed;
  }

  private closeListener(): Promise<void> {
    this.accepting = false;
    if (!this.listener.listening) return Promise.resolve();
    return new Promise((resolve) => this.listener.close(() => resolve()));
  }

  private onConnection(socket: net.Socket, id?: number): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    if (!this.fdLimit.admit(this.connections.size)) {
      socket.destroy();
      return;
    }
    clearTimeout(this.idleTimer);
    this.intake.accept(this.connections.accept(socket, id ?? this.core.allocateId()));
  }

  private onUpgrade(stats: SessionStats): void {
    this.emit('upgrade', stats);
    if (this.options.runOnce && !this.upgradedOnce) {
      this.upgradedOnce = true;
      // One WebSocket connection only: refuse any further ones from now on.
      void this.closeListener();
    }
  }

  private onSessionEnd(stats: SessionStats): void {
    this.emit('session-end', stats);
    if (this.options.runOnce && this.upgradedOnce) {
      this.options.logger.info(`${stats.id}: ${stats.peer}: exiting due to --run-once`);
      this.finish('--run-once');
    } else if (!this.accepting && this.core.sessionCount === 0 && this.lifetimeReason) {
      this.finish(this.lifetimeReason);
    }
  }

  /**
   * --timeout (or a cluster primary's): the port stops accepting at once and connections without
   * a request are dropped; the server is done, with `reason`, when its sessions end.
   */
  stopAccepting(reason: string): void {
    this.lifetimeReason = reason;
    void this.closeListener();
    // Connections without a request yet, and kept-alive ones between requests.
    this.connections.destroy((c) => c.stage === 'first-bytes' || c.stage === 'tls' || c.stage === 'http');
    this.http.closeIdleConnections();
    if (this.core.sessionCount === 0) this.finish(this.lifetimeReason);
  }

  private armIdleTimer(): void {
    const ms = this.options.idleTimeoutMs;
    if (ms === 0 || this.connections.size > 0 || !this.accepting) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      const reason = `listener exit due to --idle-timeout ${ms / 1000}`;
      this.options.logger.info(reason);
      this.finish(reason);
    }, ms);
  }

  private finish(reason: string): void {
    if (this.closing) return;
    void this.close().then(() => this.emit('done', reason));
  }
}

/** Creates a server from options and starts listening. */
export async function startWebsockify(options: WebsockifyOptions): Promise<WebsockifyServer> {
  const server = new WebsockifyServer(options);
  await server.listen();
  return server;
}
