// Refusing connections at the open-file limit, and saying so. When accept() fails with EMFILE
// libuv accepts and closes the waiting connections itself, silently, so the server would never
// hear of them. Instead, once open connections come near the limit, each accepted connection
// checks that two more descriptors are free (its target's socket and the next accept); if not,
// it is closed at once (freeing its descriptor, so accept() keeps working) and counted. One
// warning per burst of refusals gives the count.

import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import type { Logger } from '../log/logger.js';

/** Descriptors a connection may hold: its own, its target's, a recording or a served file. */
const PER_CONNECTION = 3;
/** Descriptors other than connections' (logs, watched certificates, the wrapped program's pipes). */
const SLACK = 64;
/** A burst ends after this long without a refusal; a longer one is reported this often. */
const QUIET_MS = 1000;
const REPORT_EVERY_MS = 10_000;

/** The soft RLIMIT_NOFILE, from /proc (Linux); undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Descriptors open now (Linux); undefined where /proc is missing. */
function openDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** 'EMFILE' or 'ENFILE' when fewer than two descriptors can be opened now, else undefined. */
function descriptorShortage(): string | undefined {
  const opened: number[] = [];
  try {
    opened.push(openSync('/dev/null', 'r'));
    opened.push(openSync('/dev/null', 'r'));
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? code : undefined;
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}

export class FdLimitGuard {
  private readonly limit = openFileLimit();
  /** Open connections above which accepted ones are checked. */
  private readonly checkAbove: number;
  private refusals = 0;
  private code = '';
  private burstStarted = 0;
  private quietTimer: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger) {
    const base = openDescriptors() ?? 0;
    this.checkAbove = this.limit === undefined ? 0 : Math.max(0, (this.limit - base - SLACK) / PER_CONNECTION);
  }

  /**
   * Whether a connection just accepted may stay, given how many are open. False means close
   * it now: it has been counted for the burst's warning.
   */
  admit(openConnections: number): boolean {
    if (openConnections < this.checkAbove) return true;
    const shortage = descriptorShortage();
    if (!shortage) return true;
    this.refused(shortage);
    return false;
  }

  /** Counts a refusal (also for accept errors the listener reports itself). */
  refused(code: string): void {
    const now = Date.now();
    if (this.refusals === 0) this.burstStarted = now;
    this.refusals += 1;
    this.code = code;
    clearTimeout(this.quietTimer);
    if (now - this.burstStarted >= REPORT_EVERY_MS) this.report();
    else this.quietTimer = setTimeout(() => this.report(), QUIET_MS).unref();
  }

  /** Logs a burst still being counted (at close). */
  flush(): void {
    clearTimeout(this.quietTimer);
    if (this.refusals > 0) this.report();
  }

  private report(): void {
    const n = this.refusals;
    this.refusals = 0;
    const why =
      this.code === 'ENFILE'
        ? "the system's open-file table is full (ENFILE)"
        : `too many open files (EMFILE; the open-file limit is ${this.limit ?? 'unknown'})`;
    this.logger.warn(`Refused ${n} connection${n === 1 ? '' : 's'}: ${why}`);
  }
}
