// The ways a syslog message leaves the process: UDP to host:port, or a local socket such as
// /dev/log, which is tried as a datagram socket first and as a stream socket next, like the
// reference. Node has no AF_UNIX datagrams, so those go through the `unix-dgram` addon (an
// optional dependency, built at install). A transport never throws once open: a message that
// cannot be sent is dropped, as syslog over UDP would.

import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import util from 'node:util';
import { rebuildCommand } from '../config/rebuild-command.js';

export interface SyslogTransport {
  send(message: Buffer): void;
  close(): void;
}

/** Failure to open a transport, with the errno name when there is one. */
export class SyslogOpenError extends Error {}

/** Messages kept while a local datagram socket is congested (the daemon reads slower than we log). */
const MAX_PENDING = 1000;
/** Bytes kept for a stream socket that does not read. */
const MAX_STREAM_BUFFER = 1024 * 1024;

export async function udpTransport(host: string, port: number): Promise<SyslogTransport> {
  let address;
  try {
    address = await lookup(host);
  } catch (err) {
    throw new SyslogOpenError(`cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const socket = dgram.createSocket(address.family === 6 ? 'udp6' : 'udp4');
  socket.on('error', () => {}); // e.g. ICMP unreachable: the message is lost, as UDP allows
  socket.unref();
  return {
    send: (message) => socket.send(message, port, address.address),
    close: () => socket.close(),
  };
}

interface UnixDgramSocket {
  on(event: 'error', listener: (err: { code: number }) => void): void;
  on(event: 'writable', listener: () => void): void;
  connect(path: string): void;
  send(buf: Buffer, callback: (err?: { code: number; message: string }) => void): void;
  close(): void;
}

function loadUnixDgram(): { createSocket(type: 'unix_dgram'): UnixDgramSocket } {
  try {
    return createRequire(import.meta.url)('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };
  } catch {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    throw new SyslogOpenError(
      'unix datagram sockets need the optional unix-dgram module, which did not build at install: ' +
        `build it with \`${rebuildCommand(root, 'unix-dgram')}\` (needs python3, make and a C compiler), ` +
        'or use host:port',
    );
  }
}

const errnoName = (code: number): string => (code < 0 ? util.getSystemErrorName(code) : String(code));

/** A connected AF_UNIX datagram socket; throws SyslogOpenError with the errno name. */
function connectUnixDgram(path: string): UnixDgramSocket {
  const socket = loadUnixDgram().createSocket('unix_dgram');
  let failure: { code: number } | undefined;
  socket.on('error', (err) => (failure = err));
  socket.connect(path); // reports a failure synchronously through 'error'
  if (failure) {
    socket.close();
    throw new SyslogOpenError(errnoName(failure.code));
  }
  return socket;
}

function unixDgramTransport(path: string, first: UnixDgramSocket): SyslogTransport {
  let socket: UnixDgramSocket | undefined = first;
  const pending: Buffer[] = [];
  const flush = (): void => {
    while (socket && pending.length > 0) {
      const message = pending.shift()!;
      let congested = false;
      socket.send(message, (err) => {
        if (err?.message === 'congestion') congested = true;
        else if (err) retry(message);
      });
      if (congested) {
        pending.unshift(message);
        return; // 'writable' calls flush again
      }
    }
  };
  /** The daemon may have restarted (ECONNREFUSED): reconnect once and resend, as the reference does. */
  const retry = (message: Buffer): void => {
    socket?.close();
    try {
      socket = connectUnixDgram(path);
      socket.on('writable', flush);
      socket.send(message, () => {});
    } catch {
      socket = undefined; // dropped; the next message tries again
    }
  };
  first.on('writable', flush);
  return {
    send: (message) => {
      if (!socket) retry(message);
      else if (pending.length >= MAX_PENDING) return;
      else {
        pending.push(message);
        flush();
      }
    },
    close: () => {
      socket?.close();
      socket = undefined;
    },
  };
}

function connectStream(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      socket.on('error', () => socket.destroy());
      socket.unref();
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => reject(new SyslogOpenError(err.code ?? err.message)));
  });
}

function unixStreamTransport(first: net.Socket, path: string): SyslogTransport {
  let socket = first;
  let reconnecting = false;
  return {
    send: (message) => {
      if (socket.destroyed) {
        if (reconnecting) return;
        reconnecting = true;
        void connectStream(path)
          .then((s) => (socket = s))
          .catch(() => {})
          .finally(() => (reconnecting = false));
        return;
      }
      if (socket.writableLength < MAX_STREAM_BUFFER) socket.write(Buffer.concat([message, Buffer.from('\n')]));
    },
    close: () => socket.destroy(),
  };
}

/** A local syslog socket: datagram if it is one, else stream (messages end with a newline). */
export async function unixTransport(path: string): Promise<SyslogTransport> {
  let dgramError: SyslogOpenError;
  try {
    return unixDgramTransport(path, connectUnixDgram(path));
  } catch (err) {
    if (!(err instanceof SyslogOpenError)) throw err;
    dgramError = err;
  }
  try {
    return unixStreamTransport(await connectStream(path), path);
  } catch (err) {
    // A stream socket answers a datagram connect with EPROTOTYPE: then the stream error says more.
    throw dgramError.message === 'EPROTOTYPE' ? err : dgramError;
  }
}
