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

/**
 * Starts the watchdog for the processes marked with `wrapId`. Resolves once its first process
 * has forked the detached watchdog and exited: with the watchdog when that worked, with a reason
 * when it did not (no binary, not Linux, or a binary that refused, such as one built before
 * `--watchdog` existed), so the caller can fall back instead of running unguarded.
 */
export async function startWatchdog(
  init: string | undefined,
  wrapId: string,
  graceMs: number,
): Promise<Watchdog | { failed: string }> {
  if (process.platform !== 'linux') return { failed: 'not Linux' };
  if (init === undefined) return { failed: 'websockify-init is not built' };
  const child = spawn(init, ['--watchdog', wrapId, String(Math.round(graceMs))], {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    detached: true,
  });
  const pipe = child.stdio[3] as Writable & { unref?: () => void };
  pipe.on('error', () => {});
  const status = await new Promise<string | number>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code, signal) => resolve(signal ?? code ?? 1));
  });
  if (status !== 0) {
    pipe.destroy();
    return { failed: `${init} --watchdog ${typeof status === 'number' ? `exited with status ${status}` : status}` };
  }
  // Neither the (exited) process nor the pipe keeps websockify running.
  pipe.unref?.();
  return { release: () => pipe.destroy() };
}
