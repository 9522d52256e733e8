// Waiting out a drain: resolves once nothing remains open (the server calls check() whenever a
// connection closes) or when the drain time is up, whichever comes first, or at once on
// cancel() (the server is being closed anyway).

export class DrainWait {
  private resolve: ((emptied: boolean) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Resolves true when everything closed in time, false when the time ran out or it was cancelled. */
  readonly done: Promise<boolean>;

  /** `remaining()` counts what the drain waits for; `ms` is the drain time. */
  constructor(
    private readonly remaining: () => number,
    ms: number,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
    this.timer = setTimeout(() => this.finish(false), ms);
    this.check();
  }

  /** Looks again whether anything remains. */
  check(): void {
    if (this.remaining() === 0) this.finish(true);
  }

  cancel(): void {
    this.finish(false);
  }

  private finish(emptied: boolean): void {
    clearTimeout(this.timer);
    this.resolve?.(emptied);
    this.resolve = undefined;
  }
}
