// A standalone websockify server: listener (listen/: TCP, unix socket or inherited socket) ->
// intake (first-byte sniffing, TLS) -> HTTP front end (or, for a whole upgrade request in a plain
// connection's first bytes, fast-upgrade.ts) -> proxy core, each accepted socket tracked
// as one Connection (connection.ts) from accept to close, plus the lifetime rules (--run-once,
// --timeout, --idle-timeout), graceful close and draining. Behind a load balancer: the PROXY
// protocol (intake), /healthz (health.ts), the client's real address and connection limits
// (admission.ts). The CLI is a thin layer over this class; applications can use it directly or
// use attachWebsockify() instead.

import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { resolveOptions, type ResolvedOptions, type WebsockifyOptions } from '../config/options.js';
import { writeHttpError } from '../protocol/http-response.js';
import { ProxyCore, type ProxyCoreEvents } from '../proxy/proxy.js';
import type { SessionStats } from '../proxy/session.js';
import { TlsCredentials } from '../tls/credentials.js';
import { ConnectionRegistry, type Connection } from './connection.js';
import { createHttpFrontend } from './http-frontend.js';
import { takeUpgradeRequest } from './fast-upgrade.js';
import { FdLimitGuard } from './fd-limit.js';
import { ConnectionIntake } from './intake.js';
import { TlsFrontend } from './tls-frontend.js';
import { createListener, describeListen, listenOn } from '../listen/listener.js';
import { unixSocketPath } from '../listen/inherited.js';
import { createRequestHandler } from './plain-http.js';
import { authGate } from '../auth/web-gate.js';
import { Admission } from './admission.js';
import type { LimitKeeper } from './limits.js';
import { DrainWait } from './drain.js';
import { withHealth } from './health.js';
import { TrustedProxies } from './trusted-proxies.js';

/** upgrade, target-connect, session-end and refused (see ProxyCoreEvents), and done. */
export interface WebsockifyServerEvents extends ProxyCoreEvents {
  /** The server stopped by itself (--run-once, --timeout, --idle-timeout) and is now closed. */
  done: [reason: string];
}

export class WebsockifyServer extends EventEmitter<WebsockifyServerEvents> {
  readonly options: ResolvedOptions;
  private readonly admission: Admission;
  /** Set while draining: resolves when the open sessions are gone or the drain time is up. */
  private drainWait: DrainWait | undefined;
  private draining: Promise<void> | undefined;
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
    const trusted = o.trustedProxies && new TrustedProxies(o.trustedProxies);
    this.admission = new Admission({
      trusted,
      maxConnections: o.maxConnections,
      maxConnectionsPerIp: o.maxConnectionsPerIp,
      logger: o.logger,
      draining: () => this.draining !== undefined,
      refused: (event) => this.emit('refused', event),
    });
    this.tls = o.tls ? new TlsCredentials(o.tls, o.logger) : undefined;
    this.core = new ProxyCore(o); // ResolvedOptions carries every ProxyCore option
    this.core.on('upgrade', (stats) => this.onUpgrade(stats));
    this.core.on('session-end', (stats) => this.onSessionEnd(stats));
    this.core.on('target-connect', (stats) => this.emit('target-connect', stats));
    this.core.on('refused', (refusal) => this.emit('refused', refusal));
    this.connections = new ConnectionRegistry({
      deadlineMs: o.handshakeTimeoutMs,
      logger: o.logger,
      onEmpty: () => this.armIdleTimer(),
      onClosed: () => this.drainWait?.check(),
      onExpired: (conn, status) => this.emit('refused', { reason: 'timeout', status, peer: conn.peer }),
    });
    this.fdLimit = new FdLimitGuard(o.logger);
    const connectionOf = (socket: object): Connection | undefined => this.connections.of(socket);
    const peerOf = (req: http.IncomingMessage): string => this.admission.clientOf(req, connectionOf(req.socket)).peer;
    const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer, conn: Connection): void => {
      if (this.upgradedOnce && o.runOnce) {
        // --run-once serves one WebSocket session; a kept-alive HTTP connection gets no second.
        writeHttpError(socket, 503, 'This server handles a single WebSocket connection (--run-once)');
        this.emit('refused', { reason: 'limit', status: 503, peer: conn.peer });
        return;
      }
      // The core logs and reports the client by the admitted label (the real client's).
      this.admission.admitUpgrade(req, socket, conn, (peer) =>
        this.core.handleUpgrade(req, socket, head, { id: conn.id, peer, enter: (s) => conn.enter(s) }),
      );
    };
    this.http = createHttpFrontend({
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      maxHeaderSize: o.maxHeaderSize,
      logger: o.logger,
      connectionOf,
      onRequest: withHealth(
        createRequestHandler({
          web: o.web,
          fileOnly: o.fileOnly,
          logger: o.logger,
          peerOf,
          ...(o.webAuth && o.auth ? { gate: authGate(o.auth, o.logger) } : {}),
        }),
        { draining: () => this.draining !== undefined, logger: o.logger, peerOf },
      ),
      onUpgrade: upgrade,
    });
    /**
     * Takes a paused connection: a plain one with the first bytes sniffing took off it, or a TLS
     * one (its first bytes on the socket).
     */
    const toHttp = (conn: Connection, first?: Buffer): void => {
      // A whole upgrade request in the first bytes of a plain connection skips the HTTP server.
      const fast = first && takeUpgradeRequest(conn.raw, first, o.maxHeaderSize);
      if (fast) {
        conn.enter('proxy');
        upgrade(fast.req, conn.socket, fast.head, conn);
        return;
      }
      // Until the request headers are in, the deadline answers 408 (over TLS when it is TLS).
      conn.enter('http', () => {
        writeHttpError(conn.socket, 408);
        return 408;
      });
      this.http.emit('connection', conn.socket);
      // The bytes sniffed wait in the socket's buffer; HTTP's data listener reads them now.
      conn.socket.resume();
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
        refused: (event) => this.emit('refused', event),
      });
    this.intake = new ConnectionIntake({
      deadlineMs: o.handshakeTimeoutMs,
      tls: tlsFrontend,
      sslOnly: o.tls?.sslOnly ?? false,
      flashPolicy: o.legacy,
      logger: o.logger,
      handOff: toHttp,
      proxyProtocol: o.proxyProtocol ? { trusts: (address) => trusted?.trustsPeer(address) ?? true } : undefined,
      onBadHeader: (conn) => this.emit('refused', { reason: 'bad-handshake', status: 0, peer: conn.peer }),
      refused: (event) => this.emit('refused', event),
    });
    this.listener = createListener((socket) => this.onConnection(socket));
    // Errors from accept() (libuv reports EMFILE only when it cannot shed the connection itself).
    this.listener.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EMFILE' || err.code === 'ENFILE') {
        this.fdLimit.refused(err.code);
        this.emit('refused', { reason: 'fd-limit', status: 0, peer: 'unknown' });
      } else if (this.accepting) o.logger.error(`Accepting a connection failed: ${err.message}`);
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
   * a unix listen socket (`unix:PATH`); `limits` counts --max-connections over every worker.
   * No lifetime timers run here; they are the primary's.
   */
  serveAccepted(unixPeer: string | undefined, limits?: LimitKeeper): void {
    if (unixPeer !== undefined) this.connections.unixPeer = unixPeer;
    if (limits) this.admission.shareLimits(limits);
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
   * Takes the server out of a load balancer's rotation without cutting sessions: at once the
   * health check (/healthz) answers 503 and new WebSocket upgrades (and other requests) get
   * 503, while the port stays open so the balancer sees that 503; open sessions run on for up
   * to `seconds` (default: the `drainSeconds` option), then the rest are closed with 1001 as
   * by close(). Resolves when the server is closed, sooner if every session ended earlier.
   */
  drain(seconds = this.options.drainMs / 1000): Promise<void> {
    if (this.closing) return this.closing;
    this.draining ??= this.doDrain(seconds);
    return this.draining;
  }

  private async doDrain(seconds: number): Promise<void> {
    clearTimeout(this.lifetimeTimer);
    clearTimeout(this.idleTimer);
    // Sessions, and upgrades still in their handshake (target lookup, auth).
    const open = (): number => this.connections.count((c) => c.stage === 'session' || c.stage === 'proxy');
    const logger = this.options.logger;
    logger.info(`Draining: health check failing, new connections refused; ${open()} open, ${seconds} s to finish`);
    this.drainWait = new DrainWait(open, seconds * 1000);
    const emptied = await this.drainWait.done;
    if (!this.closing) {
      logger.info(emptied ? 'Drained: every session ended' : `Drain time up: closing ${open()} open with 1001`);
    }
    await this.close();
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
    this.drainWait?.cancel();
    this.tls?.stop();
    const listenerClosed = this.closeListener();
    // Every connection not in a proxy session (the core closes those with 1001 below).
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
      const peer = socket.remoteAddress ?? this.connections.unixPeer;
      socket.destroy();
      this.emit('refused', { reason: 'fd-limit', status: 0, peer });
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
    this.connections.destroy(
      (c) => c.stage === 'proxy-header' || c.stage === 'first-bytes' || c.stage === 'tls' || c.stage === 'http',
    );
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
