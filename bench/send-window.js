// Writes in flight on a benchmark client's connection: write() counts one in, its callback
// (`done`) counts it out; past `max` in flight the writer waits in drained() until half are out.
export class SendWindow {
  constructor(max, onError) {
    this.max = max;
    this.pending = 0;
    this.waiter = null;
    this.done = (err) => {
      this.pending--;
      if (err) onError(err);
      if (this.waiter && (this.pending <= max / 2 || err)) {
        const w = this.waiter;
        this.waiter = null;
        w();
      }
    };
  }

  /** Counts a write in; false means "wait for drained() before writing more". */
  add() {
    this.pending++;
    return this.pending < this.max;
  }

  /** Resolves once at most half the window is in flight (or `closed` resolves). */
  drained(closed) {
    if (this.pending <= this.max / 2) return Promise.resolve();
    const freed = new Promise((resolve) => (this.waiter = resolve));
    return closed ? Promise.race([freed, closed]) : freed;
  }
}
