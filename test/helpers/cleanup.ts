// Per-test cleanup: `defer(fn)` registers work (closing servers, stopping processes) that runs
// after the current test, last registered first, whether the test passed or not.

import { afterEach } from '@jest/globals';

const pending: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const fn of pending.splice(0).reverse()) await fn();
});

export function defer(fn: () => Promise<unknown> | unknown): void {
  pending.push(fn);
}
