// Running suites both ways, with one process and with `--workers 2`, and finding the workers of
// a running command: its child processes that run dist/cli/worker-main.js, and which worker a
// connection was handed to (the primary's `-v` line "ID: PEER: to worker K (pid P)").

import { readFileSync } from 'node:fs';
import { childrenOf } from './procfs.js';

/** describe.each() rows: a label, and the arguments that select the mode. */
export const WORKER_MODES: [label: string, args: string[]][] = [
  ['one process', []],
  ['--workers 2', ['--workers', '2']],
];

/** The live worker processes of the command with PID `pid`. */
export function workerPids(pid: number): number[] {
  return childrenOf(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'latin1').includes('worker-main.js');
    } catch {
      return false;
    }
  });
}

/** From `-v` stderr: connection number -> the PID of the worker it was handed to. */
export function handedTo(stderr: string): Map<number, number> {
  const handed = new Map<number, number>();
  for (const m of stderr.matchAll(/^(\d+): \S+: to worker \d+ \(pid (\d+)\)$/gm)) {
    handed.set(Number(m[1]), Number(m[2]));
  }
  return handed;
}
