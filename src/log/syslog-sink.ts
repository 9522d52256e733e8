// The syslog sink (--syslog SERVER, --legacy-syslog): where SERVER points (the reference's
// rule: `host:port` is UDP, anything else a local socket path) and a sink that frames each log
// line (syslog-format.ts) and hands it to the transport (syslog-transports.ts).

import os from 'node:os';
import path from 'node:path';
import { optionProblem } from '../errors/config-error.js';
import type { ClosableSink, LogLevel } from './logger.js';
import { frameSyslogMessage, type SyslogFacility } from './syslog-format.js';
import { SyslogOpenError, udpTransport, unixTransport } from './syslog-transports.js';

export type SyslogDestination = { kind: 'udp'; host: string; port: number } | { kind: 'unix'; path: string };

/**
 * Parses SERVER: `host:port` (split at the last colon; `[v6]:port` too) is UDP; a value without
 * a colon, or starting with `/` or `.`, is a socket path resolved against the current
 * directory. A bad port throws the reference's "Error parsing syslog port".
 */
export function parseSyslogServer(server: string): SyslogDestination {
  const colon = server.lastIndexOf(':');
  if (colon === -1 || server.startsWith('/') || server.startsWith('.')) {
    if (server === '') throw optionProblem('syslog', 'the server is empty');
    return { kind: 'unix', path: path.resolve(server) };
  }
  const host = server.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const portText = server.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw optionProblem('syslog', 'Error parsing syslog port');
  }
  if (host === '') throw optionProblem('syslog', 'Error parsing syslog host');
  return { kind: 'udp', host, port };
}

export interface SyslogSinkOptions {
  destination: SyslogDestination;
  /** The reference uses daemon when it runs as a daemon (-D), user otherwise. */
  facility?: SyslogFacility;
  /** The old `<PRI>websockify[PID]: ` header instead of RFC 5424. */
  legacy?: boolean;
}

/** Opens the destination; throws ConfigError (option 'syslog') when it cannot be reached. */
export async function syslogSink(options: SyslogSinkOptions): Promise<ClosableSink> {
  const { destination } = options;
  const where = destination.kind === 'udp' ? `${destination.host}:${destination.port}` : destination.path;
  let transport;
  try {
    transport =
      destination.kind === 'udp'
        ? await udpTransport(destination.host, destination.port)
        : await unixTransport(destination.path);
  } catch (err) {
    if (err instanceof SyslogOpenError) throw optionProblem('syslog', `cannot log to ${where}: ${err.message}`);
    throw err;
  }
  const framing = {
    facility: options.facility ?? 'user',
    legacy: options.legacy ?? false,
    hostname: os.hostname(),
    pid: process.pid,
  };
  const sink = (level: LogLevel, line: string): void => {
    const message = frameSyslogMessage(framing, level, line);
    if (message) transport.send(message);
  };
  return Object.assign(sink, { close: () => transport.close() });
}
