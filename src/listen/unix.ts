// Listening on a unix-domain socket file (--unix-listen). A file left behind by a process that
// died is removed, but only when nobody answers on it; the socket is created under a umask that
// gives it exactly the requested mode, so it is never reachable with looser permissions; and the
// file is removed when the server closes (libuv does it) or, failing that, when the process exits.

import { chmodSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from '../log/logger.js';
import { listenError, listenServer } from './server-listen.js';

/** Resolves 'listening' when a server answers on the socket at `path`, else the error code. */
function probe(path: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve('listening');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/**
 * Makes way for the socket: a missing path is fine; a socket nobody listens on (ECONNREFUSED)
 * is stale and removed; anything else (a live socket, a regular file) is refused.
 */
async function clearStaleSocket(path: string, logger: Logger): Promise<void> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) throw listenError('EEXIST', `${path} exists and is not a socket`);
  const state = await probe(path);
  if (state === 'listening') throw listenError('EADDRINUSE', `${path}: another process is listening on it`);
  if (state !== 'ECONNREFUSED') throw listenError(state, `${path}: cannot tell whether it is in use (${state})`);
  unlinkSync(path);
  logger.info(`Removed stale unix socket ${path} (nothing was listening on it)`);
}

/** Binds under the umask that leaves exactly `mode`: bind() happens synchronously in listen(). */
function bindWithMode(server: net.Server, path: string, mode: number): Promise<void> {
  const previous = process.umask(0o777 & ~mode);
  try {
    return listenServer(server, { path, backlog: 1024 });
  } finally {
    process.umask(previous);
  }
}

/** Removes the socket file at process exit if the server did not get to close (and it is ours). */
function removeAtExit(server: net.Server, path: string): void {
  const { ino, dev } = statSync(path);
  const remove = (): void => {
    try {
      const now = lstatSync(path);
      if (now.ino === ino && now.dev === dev) unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
  process.on('exit', remove);
  server.once('close', () => process.off('exit', remove));
}

/** Listens on a unix socket at `path` with permissions `mode`. */
export async function listenUnix(server: net.Server, path: string, mode: number, logger: Logger): Promise<void> {
  await clearStaleSocket(path, logger);
  await bindWithMode(server, path, mode);
  // A default ACL on the directory overrides the umask; then fix the mode (rare: logged).
  if ((statSync(path).mode & 0o777) !== mode) {
    chmodSync(path, mode);
    logger.warn(`${path}: the directory's default ACL changed the socket's mode; set it to ${formatMode(mode)}`);
  }
  removeAtExit(server, path);
}

/** `0o600` as "0600". */
export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
