// The respawn rate limit of --wrap-mode=respawn, the reference's rule made exact: a start is
// allowed once the mean of the last three start times is at least ten seconds old. The first
// three starts are immediate; a program that crashes at once settles at one start per ~5 s.
// Unlike the reference (polled once a second), the delay is computed and slept precisely.

export class RespawnLimiter {
  private readonly starts: number[] = [];

  constructor(
    private readonly windowMs = 10_000,
    private readonly history = 3,
  ) {}

  /** Records a start at `now` (ms). */
  recordStart(now: number): void {
    this.starts.push(now);
    if (this.starts.length > this.history) this.starts.shift();
  }

  /** How long to wait from `now` before the next start is allowed (0 when allowed now). */
  delayBeforeNextStart(now: number): number {
    if (this.starts.length < this.history) return 0;
    const mean = this.starts.reduce((a, b) => a + b, 0) / this.starts.length;
    return Math.max(0, Math.ceil(mean + this.windowMs - now));
  }
}
