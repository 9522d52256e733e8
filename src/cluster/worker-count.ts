// The value of `--workers`: a number of worker processes, or `auto` for one per core (what
// os.availableParallelism() says, which honours CPU affinity and cgroup-less core counts).

import os from 'node:os';
import { ConfigError } from '../config/errors.js';

/** More would only add memory: a worker per core is what the proxy can use. */
export const MAX_WORKERS = 1024;

/** `N` (1 to MAX_WORKERS) or `auto`; throws ConfigError otherwise. */
export function parseWorkerCount(text: string): number {
  if (text === 'auto') return os.availableParallelism();
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_WORKERS) {
    throw new ConfigError(`expected a number from 1 to ${MAX_WORKERS} or 'auto', got '${text}'`, 'workers');
  }
  return Number(text);
}
