// The guard that stops the wrapped program's whole process tree when websockify dies, even by
// SIGKILL: `websockify-init --watchdog` (native/init.c), started once with a pipe as its fd 3
// (not stdin: Node closes a child's stdin when the child exits, and the watchdog's first process
// exits at once).
// websockify keeps the other end and never writes to it; when websockify is gone (or releases
// the pipe after stopping the program itself) the watchdog reads end of file and stops, with
// SIGTERM then SIGKILL after the grace period, every process carrying the supervisor's
// WEBSOCKIFY_WRAP_ID, and their process groups. Linux only.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { defaultPackageRoot } from './rebind-library.js';

/** build/Release/websockify-init of this package, when it is built. */
export function websockifyInitPath(packageRoot: string = defaultPackageRoot()): string | undefined {
  const file = path.join(packageRoot, 'build', 'Release', 'websockify-init');
  try {
    accessSync(file, constants.X_OK);
    return file;
  } catch {
    return undefined;
  }
}

export interface Watchdog {
  /** Closes our end of the pipe: the watchdog stops what is left of the tree (normally nothing) and exits. */
  release(): void;
}

/** Starts the watchdog for the processes marked with `wrapId`; undefined when `init` is missing. */
export function startWatchdog(init: string | undefined, wrapId: string, graceMs: number): Watchdog | undefined {
  if (init === undefined || process.platform !== 'linux') return undefined;
  const child = spawn(init, ['--watchdog', wrapId, String(Math.round(graceMs))], {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    detached: true,
  });
  child.on('error', () => {}); // it forks and exits at once; a failure leaves rebind's PDEATHSIG
  child.unref();
  const pipe = child.stdio[3] as Writable & { unref?: () => void };
  pipe.on('error', () => {});
  // Neither the process nor the pipe keeps websockify running.
  pipe.unref?.();
  return { release: () => pipe.destroy() };
}
