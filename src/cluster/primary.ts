// The primary of a cluster (`--workers N`): it owns the listen socket (any source: TCP, a unix
// socket, inetd's or systemd's inherited socket), accepts every connection without reading
// from it and hands its socket to the worker with the fewest open connections over node:cluster's
// IPC channel; it numbers connections (log prefixes and --record's FILE.N stay unique), keeps
// the lifetime rules and the connection limits over all workers (lifetime.ts,
// shared-limits.ts), writes the workers' log lines (log-relay.ts), relays SIGHUP reloads, the
// drain and the final close, and replaces a worker that dies.

import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { ResolvedOptions } from '../config/options.js';
import type { LogSink } from '../log/logger.js';
import { FdLimitGuard } from '../server/fd-limit.js';
import { describeListen, listenOn } from '../listen/listener.js';
import { unixSocketPath } from '../listen/inherited.js';
import { RespawnLimiter } from '../wrap/respawn-limiter.js';
import { ClusterLifetime } from './lifetime.js';
import { deliverRelayed } from './log-relay.js';
import { isOurs, type FromWorker, type ToWorker } from './messages.js';
import { PrimaryLimits } from './shared-limits.js';
import { WorkerStartError } from './start-error.js';

export interface ClusterPrimaryOptions {
  /** How many workers run the proxy (at least 1). */
  workers: number;
  /**
   * The options of the workers' servers, resolved. The primary applies `listen`, `preferIpv6`
   * and the lifetime rules (`runOnce`, `timeoutMs`, `idleTimeoutMs`) itself; `logger` is the
   * primary's (its `verbose` is passed on).
   */
  options: ResolvedOptions;
  /** The module each worker runs (for node:cluster); it calls runWorker() (worker.ts). */
  exec: string;
  /** Sent to every worker at start, for it to build its server from (JSON). */
  data: unknown;
  /** Node's flags for the workers; default the primary's own (process.execArgv). */
  execArgv?: string[];
  /** Where the workers' log lines go; bare text (usage errors) goes to `terminal` only. */
  sinks: readonly LogSink[];
  terminal: LogSink;
}

export interface ClusterPrimaryEvents {
  /** The cluster stopped by itself (--run-once, --timeout, --idle-timeout) and is now closed. */
  done: [reason: string];
}

/** One worker process and what the primary knows of it. */
interface Slot {
  /** 1..N, kept by a replacement. */
  index: number;
  worker: Worker;
  ready: boolean;
  /** Gone: its late messages are not counted again. */
  gone: boolean;
  connections: number;
  sessions: number;
  /** The status it reported when it could not start. */
  failedStatus?: number;
  /**
   * Its log lines until it is ready: written then, or when it is the first to fail (so a
   * configuration that cannot start is reported once, not once per worker).
   */
  held: Extract<FromWorker, { type: 'websockify:log' }>[] | undefined;
}

/** How long a client may wait for a worker while none is ready (start-up, replacements). */
const NO_WORKER_WAIT_MS = 10_000;
/** After the close timeout, workers get this long to exit before SIGKILL. */
const EXIT_GRACE_MS = 5000;

export class ClusterPrimary extends EventEmitter<ClusterPrimaryEvents> {
  readonly options: ResolvedOptions;
  private readonly listener: net.Server;
  private readonly lifetime: ClusterLifetime;
  private readonly slots: Slot[] = [];
  private readonly limiters = new Map<number, RespawnLimiter>();
  private readonly fdLimit: FdLimitGuard;
  /** --max-connections, --max-connections-per-ip: one count over every worker. */
  private readonly limits: PrimaryLimits;
  /** Accepted sockets waiting for a ready worker: their numbers and give-up timers. */
  private readonly waiting = new Map<net.Socket, { id: number; timer: NodeJS.Timeout }>();
  private unixPeer: string | undefined;
  private nextId = 1;
  /** Rotates the start of the search for the least busy worker, so ties alternate. */
  private nextPick = 0;
  private accepting = false;
  private starting: { resolve(): void; reject(err: Error): void } | undefined;
  private closing: Promise<void> | undefined;
  /** Set by drain(): the workers drain for this long before closing. */
  private drainSeconds: number | undefined;

  constructor(private readonly opts: ClusterPrimaryOptions) {
    super();
    if (!Number.isSafeInteger(opts.workers) || opts.workers < 1) {
      throw new RangeError(`workers must be a whole number from 1, got ${opts.workers}`);
    }
    this.options = opts.options;
    const { logger } = opts.options;
    this.fdLimit = new FdLimitGuard(logger);
    this.limits = new PrimaryLimits(opts.options.maxConnections, opts.options.maxConnectionsPerIp);
    this.listener = net.createServer({ pauseOnConnect: true, noDelay: true, keepAlive: true }, (s) => this.dispatch(s));
    this.listener.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EMFILE' || err.code === 'ENFILE') this.fdLimit.refused(err.code);
      else if (this.accepting) logger.error(`Accepting a connection failed: ${err.message}`);
    });
    const o = opts.options;
    this.lifetime = new ClusterLifetime({
      runOnce: o.runOnce,
      timeoutMs: o.timeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      logger,
      onSessionTaken: () => {
        void this.closeListener();
        this.broadcast({ type: 'websockify:session-taken' });
      },
      onStopAccepting: (reason) => {
        void this.closeListener();
        this.broadcast({ type: 'websockify:stop-accepting', reason });
      },
      onFinish: (reason) => {
        if (this.closing) return;
        void this.close().then(() => this.emit('done', reason));
      },
    });
  }

  /**
   * Opens the listen source, starts the workers and resolves once every one is ready. Rejects
   * with the OS error when the socket cannot be opened, or with WorkerStartError.
   */
  async listen(): Promise<net.AddressInfo | string> {
    const o = this.options;
    await listenOn(this.listener, o.listen, o.preferIpv6, o.logger);
    const bound = this.listener.address();
    if (typeof bound === 'string' || bound === null) {
      const path = bound || (o.listen.kind === 'fd' ? unixSocketPath(o.listen.fd) : undefined);
      this.unixPeer = `unix:${path || '(unnamed)'}`;
    }
    // Connections that arrive while the workers start wait for the first ready one.
    this.accepting = true;
    cluster.setupPrimary({
      exec: this.opts.exec,
      args: [],
      execArgv: this.opts.execArgv ?? process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const started = new Promise<void>((resolve, reject) => (this.starting = { resolve, reject }));
    for (let index = 1; index <= this.opts.workers; index++) this.fork(index);
    try {
      await started;
    } catch (err) {
      await this.close();
      throw err;
    }
    this.lifetime.start();
    return this.address();
  }

  /** SIGHUP: every worker reads its certificates and token files again. */
  reload(): void {
    this.broadcast({ type: 'websockify:reload' });
  }

  /** The bound address: host and port, or a unix socket's path. */
  address(): net.AddressInfo | string {
    return this.listener.address() ?? '';
  }

  describeListen(): string {
    return describeListen(this.options.listen, this.listener.address());
  }

  /** Live WebSocket sessions of all workers. */
  get sessionCount(): number {
    return this.lifetime.openSessions;
  }

  /** The PIDs of the running workers, in worker order. */
  get workerPids(): number[] {
    return this.slots.filter((s) => !s.gone).map((s) => s.worker.process.pid ?? 0);
  }

  /**
   * Stops accepting, has every worker close its clients with 1001 "Going away" and exit, and
   * resolves when all have exited (a worker still there after the close timeout is killed).
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  /**
   * --drain-seconds: every worker drains (server.drain(): /healthz and new upgrades answer 503,
   * open sessions get `seconds`, the rest 1001), then exits. The listen socket stays open
   * meanwhile, so a load balancer's health checks reach a worker and see the 503. Resolves
   * when every worker has exited.
   */
  drain(seconds = this.options.drainMs / 1000): Promise<void> {
    if (!this.closing) {
      this.drainSeconds = seconds;
      this.closing = this.doClose();
    }
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.lifetime.stop();
    // While draining the port stays open (the workers answer with 503) until they have exited.
    const stopped = this.drainSeconds === undefined ? this.stopDispatching() : undefined;
    this.fdLimit.flush();
    const live = this.slots.filter((s) => !s.gone);
    // Gone means exited and its channel read to the end: the last log lines are written then.
    const gone = (s: Slot): Promise<unknown> =>
      Promise.all([
        new Promise((resolve) => (s.gone ? resolve(undefined) : s.worker.process.once('exit', resolve))),
        new Promise((resolve) => (s.worker.isConnected() ? s.worker.once('disconnect', resolve) : resolve(undefined))),
      ]);
    const exited = live.map(gone);
    this.broadcast(this.endMessage());
    const drainMs = (this.drainSeconds ?? 0) * 1000;
    const killTimer = setTimeout(
      () => {
        for (const s of live) if (!s.gone) s.worker.process.kill('SIGKILL');
      },
      drainMs + this.options.closeTimeoutMs + EXIT_GRACE_MS,
    );
    await Promise.all(exited);
    clearTimeout(killTimer);
    await (stopped ?? this.stopDispatching());
  }

  /** What a worker is told when the cluster ends: close, or drain first. */
  private endMessage(): ToWorker {
    return this.drainSeconds === undefined
      ? { type: 'websockify:close' }
      : { type: 'websockify:drain', seconds: this.drainSeconds };
  }

  /** Closes the listen socket and drops the connections waiting for a worker. */
  private stopDispatching(): Promise<void> {
    const listenerClosed = this.closeListener();
    for (const [socket, { timer }] of this.waiting) {
      clearTimeout(timer);
      socket.destroy();
      this.lifetime.connectionsClosed(1);
    }
    this.waiting.clear();
    return listenerClosed;
  }

  private closeListener(): Promise<void> {
    this.accepting = false;
    if (!this.listener.listening) return Promise.resolve();
    return new Promise((resolve) => this.listener.close(() => resolve()));
  }

  private broadcast(message: ToWorker): void {
    for (const s of this.slots) if (s.ready && !s.gone && s.worker.isConnected()) s.worker.send(message);
  }

  private fork(index: number): void {
    const limiter = this.limiters.get(index) ?? new RespawnLimiter();
    this.limiters.set(index, limiter);
    limiter.recordStart(Date.now());
    const worker = cluster.fork();
    const slot: Slot = { index, worker, ready: false, gone: false, connections: 0, sessions: 0, held: [] };
    this.slots.push(slot);
    worker.on('message', (message: unknown) => {
      if (isOurs<FromWorker>(message)) this.onMessage(slot, message);
    });
    worker.process.once('exit', (code, signal) => this.onExit(slot, code, signal));
  }

  private onMessage(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case 'websockify:log':
        if (slot.held) slot.held.push(message);
        else deliverRelayed(message, this.opts.sinks, this.opts.terminal);
        return;
      case 'websockify:failed':
        slot.failedStatus = message.status;
        return;
      case 'websockify:exiting':
        return;
      case 'websockify:hello': {
        const setup: ToWorker = {
          type: 'websockify:setup',
          verbose: this.options.logger.verbose,
          unixPeer: this.unixPeer,
          data: this.opts.data,
        };
        slot.worker.send(setup);
        return;
      }
    }
    if (slot.gone) return; // counted already, at its exit
    switch (message.type) {
      case 'websockify:ready':
        slot.ready = true;
        this.release(slot, true);
        if (this.starting && this.slots.every((s) => s.ready || s.gone)) {
          this.starting.resolve();
          this.starting = undefined;
        }
        if (this.closing) slot.worker.send(this.endMessage());
        this.handWaiting();
        return;
      case 'websockify:closed':
        slot.connections--;
        this.lifetime.connectionsClosed(1);
        return;
      case 'websockify:upgrade':
        slot.sessions++;
        this.lifetime.sessionStarted();
        return;
      case 'websockify:session-end':
        slot.sessions--;
        this.lifetime.sessionsEnded(1);
        return;
      case 'websockify:admit': {
        const verdict = this.limits.admit(slot, message.ticket, message.address);
        slot.worker.send({ type: 'websockify:admitted', ticket: message.ticket, verdict } satisfies ToWorker);
        return;
      }
      case 'websockify:release':
        this.limits.release(slot, message.ticket);
        return;
    }
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    slot.gone = true;
    this.slots.splice(this.slots.indexOf(slot), 1);
    this.limits.releaseAll(slot);
    const { logger } = this.options;
    const pid = slot.worker.process.pid;
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    // Lines of a worker that never got ready: shown unless another one failed start-up first.
    this.release(slot, this.starting !== undefined || !this.closing);
    if (this.starting) {
      const status = slot.failedStatus ?? 1;
      if (slot.failedStatus === undefined)
        logger.error(`websockify: worker ${slot.index} (pid ${pid}) ${how} while starting`);
      this.starting.reject(new WorkerStartError(status));
      this.starting = undefined;
      return;
    }
    if (this.closing) return;
    const lost = slot.connections;
    const sessions = slot.sessions;
    logger.warn(
      `worker ${slot.index} (pid ${pid}) ${how}` +
        (slot.ready ? `; its ${lost} connection(s) and ${sessions} session(s) are lost` : ' while starting') +
        (this.accepting ? '; starting a new one' : ''),
    );
    this.lifetime.connectionsClosed(lost);
    this.lifetime.sessionsEnded(sessions);
    if (!this.accepting || this.closing) return;
    const delay = this.limiters.get(slot.index)!.delayBeforeNextStart(Date.now());
    setTimeout(() => {
      if (this.accepting && !this.closing) this.fork(slot.index);
    }, delay).unref();
  }

  /** Ends holding the log lines of `slot`, writing them (`show`) or not. */
  private release(slot: Slot, show: boolean): void {
    const held = slot.held ?? [];
    slot.held = undefined;
    if (show) for (const message of held) deliverRelayed(message, this.opts.sinks, this.opts.terminal);
  }

  private dispatch(socket: net.Socket): void {
    // While draining, connections still go to the workers, which answer them with 503.
    if (!this.accepting || (this.closing && this.drainSeconds === undefined)) {
      socket.destroy();
      return;
    }
    const id = this.nextId++;
    this.lifetime.connectionOpened();
    const slot = this.pick();
    if (slot) {
      this.handTo(slot, socket, id);
      return;
    }
    // No worker is ready (start-up, or all of them are being replaced): wait for one, bounded.
    const timer = setTimeout(() => {
      this.waiting.delete(socket);
      socket.destroy();
      this.lifetime.connectionsClosed(1);
    }, NO_WORKER_WAIT_MS);
    this.waiting.set(socket, { id, timer });
  }

  private handWaiting(): void {
    for (const [socket, { id, timer }] of this.waiting) {
      const slot = this.pick();
      if (!slot) return;
      clearTimeout(timer);
      this.waiting.delete(socket);
      this.handTo(slot, socket, id);
    }
  }

  /** The ready worker with the fewest open connections; ties go round. */
  private pick(): Slot | undefined {
    const n = this.slots.length;
    let best: Slot | undefined;
    for (let i = 0; i < n; i++) {
      const s = this.slots[(this.nextPick + i) % n]!;
      if (s.ready && !s.gone && s.worker.isConnected() && (!best || s.connections < best.connections)) best = s;
    }
    if (best) this.nextPick = (this.slots.indexOf(best) + 1) % n;
    return best;
  }

  private handTo(slot: Slot, socket: net.Socket, id: number): void {
    slot.connections++;
    const { logger } = this.options;
    if (logger.verbose) {
      const peer = socket.remoteAddress ?? this.unixPeer;
      logger.debug(`${id}: ${peer}: to worker ${slot.index} (pid ${slot.worker.process.pid})`);
    }
    const message: ToWorker = { type: 'websockify:conn', id };
    slot.worker.send(message, socket, (err: Error | null) => {
      // The worker is going away: its exit counts this connection with the others.
      if (err) socket.destroy();
    });
  }
}
