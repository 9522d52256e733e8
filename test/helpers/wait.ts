// Waiting in tests, always bounded: `withTimeout` for a promise, `eventually` for a condition
// polled until it holds. Tests wait for conditions like these, never for fixed sleeps.

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface EventuallyOptions {
  /** How long the condition may take to hold (default 10 s). */
  ms?: number;
  /** Pause between checks (default 20 ms). */
  every?: number;
}

/**
 * Polls `check` (sync or async) until it gives something other than false or undefined, and
 * resolves with that (true, or what it found). Fails after `ms` with `what`; a function is
 * called then, so the message can show the last state. The check always runs once more after
 * the deadline passed, so a slow machine fails only if the condition really does not hold.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string | (() => string),
  { ms = 10000, every = 20 }: EventuallyOptions = {},
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const late = Date.now() > deadline;
    const value = await check();
    if (value !== false && value !== undefined) return value as Exclude<T, false | undefined>;
    if (late) throw new Error(`timed out after ${ms} ms: ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * A pause of `ms`: only for pacing what a test sends (pieces with gaps between them) and for
 * the rare check that something does NOT happen, which can only wait (such a wait may pass
 * wrongly on a loaded machine, never fail wrongly). Never to wait for something to happen.
 */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
