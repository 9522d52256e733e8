// Whether anything listens on a TCP port, read from /proc/net/tcp and tcp6 (Linux). Used to
// notice a wrapped program that never binds its moved port, without connecting to it (a
// connection would use up a one-shot server such as `in.telnetd -debug`).

import { readFile } from 'node:fs/promises';

const LISTEN_STATE = '0A';

async function tableListens(file: string, port: number): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return false;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // fields[1] is local "ADDR:PORT" in hex, fields[3] the socket state.
    if (fields[3] === LISTEN_STATE && fields[1]?.endsWith(`:${hexPort}`)) return true;
  }
  return false;
}

/** True when a socket is listening on `port` on any IPv4 or IPv6 address. */
export async function isPortListening(port: number): Promise<boolean> {
  const [v4, v6] = await Promise.all([tableListens('/proc/net/tcp', port), tableListens('/proc/net/tcp6', port)]);
  return v4 || v6;
}
