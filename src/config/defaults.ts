// The one defaults object: what every option is when it is not given. resolveOptions() applies
// these, and the option table's help text quotes them, so a default is stated here only. Also
// the two default implementations the options name: the silent logger and the stdout traffic tap.

import type { Logger } from '../log/logger.js';
import type { TrafficTap } from '../proxy/traffic.js';

export const DEFAULTS = {
  /** Bytes of the largest message accepted from a client. */
  maxMessageSize: 16 * 1024 * 1024,
  /** Bytes of the largest frame sent to a client. */
  maxFrameSize: 1024 * 1024,
  /** Seconds. */
  connectTimeout: 10,
  /** Seconds. */
  handshakeTimeout: 10,
  /** Bytes of request headers. */
  maxHeaderSize: 16 * 1024,
  /** Bytes buffered toward one side before the other is paused. */
  highWaterMark: 1024 * 1024,
  /** Seconds. */
  closeTimeout: 5,
  /** Bytes of one recording waiting for the disk. */
  recordQueueLimit: 8 * 1024 * 1024,
  /** Seconds between checks of the TLS files. */
  tlsReloadInterval: 1,
  /** Lowest TLS version accepted (`--ssl-version default`). */
  minTlsVersion: 'TLSv1.2',
  /** Permission bits of a unix listen socket. */
  unixSocketMode: 0o600,
  /** The command's certificate file, in the start directory: TLS is on when it exists. */
  cert: 'self.pem',
  /** The command's --log-format. */
  logFormat: 'text',
  /** The command's --wrap-mode. */
  wrapMode: 'exit',
  /** WebSocket connections open at once, in all and from one address: 0 is no limit. */
  maxConnections: 0,
  maxConnectionsPerIp: 0,
  /** The command's --workers: one process. */
  workers: 1,
} as const;

/** The library's logger when the caller gives none: it drops everything. */
export const silentLogger: Logger = {
  verbose: false,
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** `traffic: true`: the reference's symbols on stdout (see proxy/traffic.ts for their meaning). */
export function stdoutTraffic(): TrafficTap {
  const out = (s: string): void => {
    process.stdout.write(s);
  };
  return {
    clientReceive: () => out('}'),
    targetReceive: () => out('{'),
    targetSend: (partial) => out(partial ? '.>' : '>'),
    clientSend: (partial) => out(partial ? '<.' : '<'),
  };
}
