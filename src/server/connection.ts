// One accepted connection from accept until its socket closes, and the registry of all of them.
// A Connection holds the number and peer label its log lines carry, the stage it is in, and the
// one handshake deadline: it starts at accept and covers the first bytes, the TLS handshake and
// the HTTP request headers together, until the request has arrived (upgrade handed on, or a
// request to answer). Each stage says what expiry means for it (408, or a plain close); the
// deadline logs one line. The registry knows every open connection, so shutdown is one loop.

import type * as net from 'node:net';
import type { Logger } from '../log/logger.js';

/**
 * proxy-header: reading the PROXY protocol header (--proxy-protocol); first-bytes: sniffing;
 * tls: in the TLS handshake; http: waiting for the request headers; web: a plain HTTP request
 * arrived (answered, then kept alive); proxy: the upgrade went to the proxy core (target lookup,
 * handshake); session: a proxy session owns it from then on; answered: refused or answered and
 * closing.
 */
export type Stage = 'proxy-header' | 'first-bytes' | 'tls' | 'http' | 'web' | 'proxy' | 'session' | 'answered';

/** Stages in which the handshake deadline runs. */
const HANDSHAKE_STAGES: ReadonlySet<Stage> = new Set(['proxy-header', 'first-bytes', 'tls', 'http']);

const STAGE_TEXT: Record<Stage, string> = {
  'proxy-header': 'no complete PROXY header',
  'first-bytes': 'no first bytes',
  tls: 'in the TLS handshake',
  http: 'no complete request',
  web: 'answering',
  proxy: 'proxying',
  session: 'in a session',
  answered: 'answered',
};

export class Connection {
  /** The outermost socket: the accepted one, then its TLSSocket once the handshake succeeded. */
  socket: net.Socket;
  /** The client's IP address (the socket's, or a PROXY header's source); undefined on a unix socket. */
  address: string | undefined;
  private current: Stage = 'first-bytes';
  private timer: NodeJS.Timeout | undefined;
  private onExpire: (() => number | void) | undefined;
  private deadlinePassed = false;

  constructor(
    /** The connection number in log lines. */
    readonly id: number,
    /** The socket as accepted. */
    readonly raw: net.Socket,
    /**
     * Who is connected, for log lines: the IP address, `unix:PATH` for a unix-socket client, or
     * the client's `ADDRESS:PORT` from a PROXY protocol header.
     */
    public peer: string,
    deadlineMs: number,
    logger: Logger,
    /** Called once the deadline has dropped the connection, with the HTTP status it sent (0: none). */
    onExpired?: (conn: Connection, status: number) => void,
  ) {
    this.socket = raw;
    this.address = raw.remoteAddress;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      logger.debug(
        `${this.label}: handshake not done within ${deadlineMs / 1000} s (${STAGE_TEXT[this.current]}); dropped`,
      );
      this.deadlinePassed = true;
      const expire = this.onExpire ?? (() => void this.socket.destroy());
      this.current = 'answered';
      onExpired?.(this, expire() ?? 0);
    }, deadlineMs);
  }

  /** `ID: PEER`, the prefix of this connection's log lines. */
  get label(): string {
    return `${this.id}: ${this.peer}`;
  }

  get stage(): Stage {
    return this.current;
  }

  /** True once the handshake deadline has passed (the connection is being dropped). */
  get expired(): boolean {
    return this.deadlinePassed;
  }

  /**
   * Moves to `stage`. In a handshake stage, `onExpire` is what the deadline does, returning the
   * HTTP status it answered with, if any (default: close   * the socket); any other stage ends the deadline.
   */
  enter(stage: Stage, onExpire?: () => number | void): void {
    this.current = stage;
    this.onExpire = onExpire;
    if (!HANDSHAKE_STAGES.has(stage)) this.stopDeadline();
  }

  stopDeadline(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export interface RegistryOptions {
  deadlineMs: number;
  logger: Logger;
  /** Called when the last open connection closed. */
  onEmpty?: () => void;
  /** Called whenever a connection closed. */
  onClosed?: (conn: Connection) => void;
  /** Called when the handshake deadline dropped a connection, with the HTTP status it sent (0: none). */
  onExpired?: (conn: Connection, status: number) => void;
}

export class ConnectionRegistry {
  private readonly open = new Set<Connection>();
  private readonly bySocket = new WeakMap<object, Connection>();
  /** Peer label of unix-socket clients (`unix:PATH`), set once the listener is bound. */
  unixPeer = 'unix:(unnamed)';

  constructor(private readonly opts: RegistryOptions) {}

  /** Open connections, in every stage. */
  get size(): number {
    return this.open.size;
  }

  /** Open connections that `which` selects. */
  count(which: (conn: Connection) => boolean): number {
    let n = 0;
    for (const conn of this.open) if (which(conn)) n += 1;
    return n;
  }

  /** Records a freshly accepted socket and starts its handshake deadline. */
  accept(socket: net.Socket, id: number): Connection {
    const peer = socket.remoteAddress ?? this.unixPeer;
    const conn = new Connection(id, socket, peer, this.opts.deadlineMs, this.opts.logger, this.opts.onExpired);
    this.open.add(conn);
    this.bySocket.set(socket, conn);
    socket.once('close', () => {
      conn.stopDeadline();
      this.open.delete(conn);
      this.opts.onClosed?.(conn);
      if (this.open.size === 0) this.opts.onEmpty?.();
    });
    return conn;
  }

  /** The connection `socket` (the accepted socket or its TLSSocket) belongs to. */
  of(socket: object): Connection | undefined {
    return this.bySocket.get(socket);
  }

  /** `socket` (the TLSSocket over the accepted one) is now the connection's outer socket. */
  wrap(conn: Connection, socket: net.Socket): void {
    conn.socket = socket;
    this.bySocket.set(socket, conn);
  }

  /** Destroys every open connection that `which` selects (default: all not in a proxy session). */
  destroy(which: (conn: Connection) => boolean = (c) => c.stage !== 'session'): void {
    for (const conn of this.open) {
      if (!which(conn)) continue;
      conn.enter('answered');
      conn.socket.destroy();
      if (conn.socket !== conn.raw) conn.raw.destroy();
    }
  }
}
