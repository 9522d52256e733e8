// The lifetime rules (--run-once, --timeout, --idle-timeout) of a cluster, kept by its primary
// over the connections and sessions of every worker, so that they mean what they mean for one
// process: --run-once ends everything once the first session (on any worker) ends, and further
// upgrades are refused meanwhile; --timeout stops accepting at N seconds and finishes when the
// last session of any worker ends; --idle-timeout counts connections of all workers together.

import type { Logger } from '../log/logger.js';

export interface LifetimeOptions {
  runOnce: boolean;
  timeoutMs: number;
  idleTimeoutMs: number;
  logger: Logger;
  /** --run-once: the one session started; refuse further ones everywhere. */
  onSessionTaken(): void;
  /** --timeout: stop accepting; open sessions go on. */
  onStopAccepting(reason: string): void;
  /** Everything should stop now, for `reason`. */
  onFinish(reason: string): void;
}

export class ClusterLifetime {
  private connections = 0;
  private sessions = 0;
  private taken = false;
  private accepting = false;
  /** Set once --timeout fired: why the cluster finishes when its sessions end. */
  private stopReason: string | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private lifetimeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LifetimeOptions) {}

  /** Open connections of all workers (and those waiting for one). */
  get openConnections(): number {
    return this.connections;
  }

  /** Live sessions of all workers. */
  get openSessions(): number {
    return this.sessions;
  }

  /** The listen socket is open: the timers start. */
  start(): void {
    this.accepting = true;
    const { timeoutMs } = this.opts;
    if (timeoutMs > 0) {
      this.lifetimeTimer = setTimeout(() => {
        const reason = `listener exit due to --timeout ${timeoutMs / 1000}`;
        this.accepting = false;
        this.stopReason = reason;
        clearTimeout(this.idleTimer);
        // The port is closed before the line says so.
        this.opts.onStopAccepting(reason);
        this.opts.logger.info(reason);
        if (this.sessions === 0) this.opts.onFinish(reason);
      }, timeoutMs);
    }
    this.armIdleTimer();
  }

  stop(): void {
    this.accepting = false;
    clearTimeout(this.lifetimeTimer);
    clearTimeout(this.idleTimer);
  }

  connectionOpened(): void {
    this.connections++;
    clearTimeout(this.idleTimer);
  }

  connectionsClosed(count: number): void {
    this.connections -= count;
    if (this.connections === 0) this.armIdleTimer();
  }

  sessionStarted(): void {
    this.sessions++;
    if (this.opts.runOnce && !this.taken) {
      this.taken = true;
      this.accepting = false;
      this.opts.onSessionTaken();
    }
  }

  sessionsEnded(count: number): void {
    if (count === 0) return;
    this.sessions -= count;
    if (this.opts.runOnce && this.taken) this.opts.onFinish('--run-once');
    else if (this.stopReason && this.sessions === 0) this.opts.onFinish(this.stopReason);
  }

  private armIdleTimer(): void {
    const ms = this.opts.idleTimeoutMs;
    if (ms === 0 || this.connections > 0 || !this.accepting) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      const reason = `listener exit due to --idle-timeout ${ms / 1000}`;
      this.opts.logger.info(reason);
      this.opts.onFinish(reason);
    }, ms);
  }
}
