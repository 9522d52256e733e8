// Listening on an inherited socket that is already listening: fd 0 from inetd (--inetd), fd 3
// from systemd socket activation (found by systemd.ts). Before handing it to Node, /proc tells
// whether the descriptor really is a listening TCP or unix stream socket, so that a terminal, a
// file or a connected socket gets a clear error (Node would say EINVAL) and an unbound socket is
// not silently bound to a random port. /proc also gives a unix socket's path, which Node does
// not know.

import { readFileSync, readlinkSync } from 'node:fs';
import type net from 'node:net';
import { listenError, listenServer } from './server-listen.js';

interface SocketEntry {
  listening: boolean;
  /** A unix socket's path ('' when unnamed). */
  path?: string;
}

const TABLES: [file: string, inodeField: number, read: (fields: string[]) => SocketEntry][] = [
  ['/proc/net/tcp', 9, (f) => ({ listening: f[3] === '0A' })],
  ['/proc/net/tcp6', 9, (f) => ({ listening: f[3] === '0A' })],
  // Flags 00010000 is __SO_ACCEPTCON: listen() was called.
  ['/proc/net/unix', 6, (f) => ({ listening: f[3] === '00010000', path: f[7] ?? '' })],
];

/** Socket `inode` in the kernel's TCP and unix tables; null if absent, undefined without /proc. */
function findSocket(inode: string): SocketEntry | null | undefined {
  let readable = false;
  for (const [file, inodeField, read] of TABLES) {
    let lines: string[];
    try {
      lines = readFileSync(file, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    readable = true;
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      if (fields[inodeField] === inode) return read(fields);
    }
  }
  return readable ? null : undefined;
}

/** The inode of socket `fd`; undefined without /proc. Throws a coded error if it is not a socket. */
function socketInode(fd: number): string | undefined {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw listenError('EBADF', `fd ${fd} is not open`);
    return undefined; // no /proc: let listen() decide
  }
  const socket = /^socket:\[(\d+)\]$/.exec(target);
  if (!socket) throw listenError('ENOTSOCK', `fd ${fd} is not a socket (it is ${target})`);
  return socket[1]!;
}

/** Throws a coded error unless `fd` is a listening TCP or unix socket (checked where /proc exists). */
export function checkListeningSocket(fd: number): void {
  const inode = socketInode(fd);
  const entry = inode === undefined ? undefined : findSocket(inode);
  if (entry === null) {
    throw listenError('EINVAL', `fd ${fd} is a socket but not a listening TCP or unix stream socket`);
  }
  if (entry && !entry.listening) throw listenError('EINVAL', `fd ${fd} is a socket but not a listening one`);
}

/** The path of the unix socket on `fd`, when /proc knows it. */
export function unixSocketPath(fd: number): string | undefined {
  try {
    const inode = socketInode(fd);
    return (inode && findSocket(inode)?.path) || undefined;
  } catch {
    return undefined;
  }
}

/** Listens on the inherited listening socket `fd`. */
export function listenFd(server: net.Server, fd: number): Promise<void> {
  checkListeningSocket(fd);
  return listenServer(server, { fd });
}
