// Listening on an inherited socket that is already listening: fd 0 from inetd (--inetd), fd 3
// from systemd socket activation. Before handing it to Node, /proc tells whether the descriptor
// really is a listening socket, so that a terminal, a file or a connected socket gets a clear
// error (Node would say EINVAL) and an unbound socket is not silently bound to a random port.

import { readFileSync, readlinkSync } from 'node:fs';
import type net from 'node:net';
import { listenError, listenServer } from './server-listen.js';

/** Whether socket `inode` is listening, from the kernel's tables; undefined if not found there. */
function isListening(inode: string): boolean | undefined {
  const tables: [file: string, listening: (fields: string[]) => boolean, inodeField: number][] = [
    ['/proc/net/tcp', (f) => f[3] === '0A', 9],
    ['/proc/net/tcp6', (f) => f[3] === '0A', 9],
    // Flags 00010000 is __SO_ACCEPTCON: listen() was called.
    ['/proc/net/unix', (f) => f[3] === '00010000', 6],
  ];
  for (const [file, listening, inodeField] of tables) {
    let lines: string[];
    try {
      lines = readFileSync(file, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      if (fields[inodeField] === inode) return listening(fields);
    }
  }
  return undefined;
}

/** Throws a coded error unless `fd` is a listening socket (checked where /proc exists). */
export function checkListeningSocket(fd: number): void {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw listenError('EBADF', `fd ${fd} is not open`);
    return; // no /proc: let listen() decide
  }
  const socket = /^socket:\[(\d+)\]$/.exec(target);
  if (!socket) throw listenError('ENOTSOCK', `fd ${fd} is not a socket (it is ${target})`);
  if (isListening(socket[1]!) === false) {
    throw listenError('EINVAL', `fd ${fd} is a socket but not a listening one`);
  }
}

/** Listens on the inherited listening socket `fd`. */
export function listenFd(server: net.Server, fd: number): Promise<void> {
  checkListeningSocket(fd);
  return listenServer(server, { fd });
}
