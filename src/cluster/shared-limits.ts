// --max-connections and --max-connections-per-ip over the workers of a cluster: the primary
// keeps the one count (PrimaryLimits: for each worker, the places it holds, given back at once
// if the worker dies), and each worker asks it for a place per upgrade and gives the place
// back when that socket closes (WorkerLimits, the worker server's LimitKeeper). One IPC round
// trip per upgrade, only when a limit is set.

import { ConnectionLimits, type LimitKeeper, type LimitRefusal, type LimitVerdict } from '../server/limits.js';
import type { FromWorker } from './messages.js';

/** In a worker: places asked of the primary, by ticket. */
export class WorkerLimits implements LimitKeeper {
  private next = 1;
  private readonly waiting = new Map<number, (verdict: LimitVerdict) => void>();

  constructor(private readonly send: (message: FromWorker) => void) {}

  admit(address: string, done: (verdict: LimitVerdict) => void): void {
    const ticket = this.next++;
    this.waiting.set(ticket, done);
    this.send({ type: 'websockify:admit', ticket, address });
  }

  /** The primary's answer for `ticket`. */
  answered(ticket: number, verdict: 'ok' | LimitRefusal): void {
    const done = this.waiting.get(ticket);
    if (!done) return;
    this.waiting.delete(ticket);
    done(verdict === 'ok' ? () => this.send({ type: 'websockify:release', ticket }) : verdict);
  }
}

/** In the primary: the count over every worker; `holder` is the worker asking. */
export class PrimaryLimits {
  private readonly limits: ConnectionLimits;
  private readonly held = new Map<object, Map<number, () => void>>();

  constructor(maxConnections: number, maxConnectionsPerIp: number) {
    this.limits = new ConnectionLimits(maxConnections, maxConnectionsPerIp);
  }

  admit(holder: object, ticket: number, address: string): 'ok' | LimitRefusal {
    const verdict = this.limits.take(address);
    if (typeof verdict !== 'function') return verdict;
    let places = this.held.get(holder);
    if (!places) this.held.set(holder, (places = new Map()));
    places.set(ticket, verdict);
    return 'ok';
  }

  release(holder: object, ticket: number): void {
    const places = this.held.get(holder);
    places?.get(ticket)?.();
    places?.delete(ticket);
  }

  /** A worker is gone: every place it held is free again. */
  releaseAll(holder: object): void {
    for (const release of this.held.get(holder)?.values() ?? []) release();
    this.held.delete(holder);
  }
}
