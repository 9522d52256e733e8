// Connection limits: how many WebSocket connections may be open at once, in all and from one
// client address. An upgrade takes a place when it arrives (before its token lookup) and gives
// it back when its socket closes, so slow handshakes count too.

export type LimitRefusal = 'total' | 'per-ip';

/** A place taken (its release) or the limit that is full. */
export type LimitVerdict = (() => void) | LimitRefusal;

/**
 * Who keeps the counts: this process (ConnectionLimits), or a cluster primary that counts the
 * upgrades of every worker (cluster/shared-limits.ts). `done` may be called synchronously.
 */
export interface LimitKeeper {
  admit(address: string, done: (verdict: LimitVerdict) => void): void;
}

export class ConnectionLimits {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  /** `max` and `perAddress`: 0 is no limit. */
  constructor(
    private readonly max: number,
    private readonly perAddress: number,
  ) {}

  /** Whether any limit is set. */
  get active(): boolean {
    return this.max > 0 || this.perAddress > 0;
  }

  /** Open connections counted, in all and from `address`. */
  count(address?: string): number {
    return address === undefined ? this.total : (this.byAddress.get(address) ?? 0);
  }

  /** Takes a place for a connection from `address`: returns its release, or which limit is full. */
  take(address: string): LimitVerdict {
    const mine = this.byAddress.get(address) ?? 0;
    if (this.max > 0 && this.total >= this.max) return 'total';
    if (this.perAddress > 0 && mine >= this.perAddress) return 'per-ip';
    this.total += 1;
    this.byAddress.set(address, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    };
  }

  /** As a LimitKeeper: answers at once. */
  admit(address: string, done: (verdict: LimitVerdict) => void): void {
    done(this.take(address));
  }
}
