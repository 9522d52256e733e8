// Parsing of the reference's address arguments: `[host:]port` for listening and `host:port` for
// targets. The split is on the last colon and square brackets around the host are removed, so
// `[::1]:6080` and `::1:5900` both work as they do in the Python reference.

import { ConfigError } from '../errors/config-error.js';

export interface HostPort {
  /** Host name or address literal, without brackets; undefined means "all interfaces". */
  host: string | undefined;
  port: number;
}

/**
 * Parses the port of the listen or target argument (`what` is "listen port" or "target port",
 * `key` the option it is part of); `allowZero` permits 0 (an ephemeral listen port).
 */
function parsePort(text: string, what: string, key: string, allowZero = false): number {
  if (!/^\d{1,5}$/.test(text)) {
    throw new ConfigError(`${what}: '${text}' is not a port number`, key);
  }
  const port = Number(text);
  if (port > 65535 || (port === 0 && !allowZero)) {
    throw new ConfigError(`${what}: port ${port} is out of range (1-65535)`, key);
  }
  return port;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `[source_addr:]source_port`: a bare port listens on all interfaces. */
export function parseListenSpec(spec: string): HostPort {
  const colon = spec.lastIndexOf(':');
  if (colon === -1) return { host: undefined, port: parsePort(spec, 'listen port', 'listen', true) };
  const host = stripBrackets(spec.slice(0, colon));
  return {
    host: host === '' ? undefined : host,
    port: parsePort(spec.slice(colon + 1), 'listen port', 'listen', true),
  };
}

/** `target_addr:target_port`: both parts are required. */
export function parseTargetSpec(spec: string): HostPort & { host: string } {
  const colon = spec.lastIndexOf(':');
  if (colon === -1) {
    throw new ConfigError(`target: '${spec}' is not of the form host:port`, 'target');
  }
  const host = stripBrackets(spec.slice(0, colon));
  if (host === '') throw new ConfigError(`target: '${spec}' has no host`, 'target');
  return { host, port: parsePort(spec.slice(colon + 1), 'target port', 'target') };
}

/** Formats a host and port for logs, bracketing IPv6 literals. */
export function formatHostPort(host: string | undefined, port: number): string {
  if (host === undefined) return `:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
