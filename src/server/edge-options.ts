// The options of a server that runs behind a load balancer, and their normalisation: reading
// the client's address from a PROXY protocol header or a trusted X-Forwarded-For, connection
// limits, and how long a drain lets sessions run. (Kept beside the server until the option
// table takes them in.)

import { ConfigError } from '../config/errors.js';
import { TrustedProxies } from './trusted-proxies.js';

export interface EdgeOptions {
  /**
   * Every connection starts with a PROXY protocol header, v1 or v2 (`--proxy-protocol`); its
   * source address is the client. With `trustedProxies`, a header from another peer is read
   * and ignored. A connection without a valid header is closed.
   */
  proxyProtocol?: boolean;
  /**
   * Peers believed about the client (`--trusted-proxy`): CIDR ranges or addresses, as a list
   * or one comma-separated string. Their X-Forwarded-For is read (rightmost untrusted entry).
   */
  trustedProxies?: string | readonly string[];
  /** Most WebSocket connections at once (`--max-connections`); more get 503. 0 or unset: no limit. */
  maxConnections?: number;
  /** Most WebSocket connections at once from one client address (`--max-connections-per-ip`). */
  maxConnectionsPerIp?: number;
  /** Seconds `drain()` lets sessions run when called without an argument (`--drain-seconds`). */
  drainSeconds?: number;
}

export interface ResolvedEdge {
  proxyProtocol: boolean;
  trusted: TrustedProxies | undefined;
  maxConnections: number;
  maxConnectionsPerIp: number;
  drainSeconds: number;
}

function limit(value: number | undefined, name: string): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`${name} must be a whole number of connections (0: no limit), got ${value}`, name);
  }
  return value;
}

function trustedProxies(ranges: readonly string[]): TrustedProxies {
  try {
    return new TrustedProxies(ranges);
  } catch (err) {
    throw new ConfigError(`trustedProxies: ${(err as Error).message}`, 'trustedProxies');
  }
}

/** Applies defaults and checks; throws ConfigError naming the bad option. */
export function resolveEdgeOptions(options: EdgeOptions): ResolvedEdge {
  const ranges =
    typeof options.trustedProxies === 'string' ? options.trustedProxies.split(',') : options.trustedProxies;
  const drainSeconds = options.drainSeconds ?? 0;
  if (!Number.isFinite(drainSeconds) || drainSeconds < 0) {
    throw new ConfigError(`drainSeconds must be a non-negative number of seconds, got ${drainSeconds}`, 'drainSeconds');
  }
  return {
    proxyProtocol: options.proxyProtocol ?? false,
    trusted: ranges === undefined ? undefined : trustedProxies(ranges),
    maxConnections: limit(options.maxConnections, 'maxConnections'),
    maxConnectionsPerIp: limit(options.maxConnectionsPerIp, 'maxConnectionsPerIp'),
    drainSeconds,
  };
}
