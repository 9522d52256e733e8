// The `--metrics [ADDR:]PORT` value: where the metrics listener binds. A bare port binds on
// loopback only; the metrics are never served on the public listen port (that is refused, not
// just avoided: the public port takes anyone, and its paths belong to --web and the proxy).

import { isIP } from 'node:net';
import { parsePort } from '../config/address.js';
import { ConfigError } from '../config/errors.js';
import type { ListenSource } from '../config/options.js';

export const METRICS_FLAG = '--metrics';

/** Where a bare `--metrics PORT` binds. */
export const METRICS_DEFAULT_HOST = '127.0.0.1';

export interface MetricsAddress {
  host: string;
  /** 0 picks a free port (the banner says which). */
  port: number;
}

/** A host name: letters, digits, dots, hyphens, underscores. */
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/** Parses `[ADDR:]PORT` (split on the last colon; `[::1]:9100`); throws ConfigError naming --metrics. */
export function parseMetricsAddress(text: string): MetricsAddress {
  const colon = text.lastIndexOf(':');
  if (colon === -1) return { host: METRICS_DEFAULT_HOST, port: parsePort(text, METRICS_FLAG, true) };
  const rawHost = text.slice(0, colon);
  const bracketed = rawHost.startsWith('[') && rawHost.endsWith(']');
  const host = bracketed ? rawHost.slice(1, -1) : rawHost;
  if (host === '') {
    throw new ConfigError(
      `${METRICS_FLAG}: '${text}' has an empty address; give PORT alone for ${METRICS_DEFAULT_HOST}, or ADDR:PORT`,
      METRICS_FLAG,
    );
  }
  const valid = isIP(host) !== 0 || (!bracketed && HOST_NAME.test(host));
  if (!valid) throw new ConfigError(`${METRICS_FLAG}: '${rawHost}' is not an address`, METRICS_FLAG);
  return { host, port: parsePort(text.slice(colon + 1), METRICS_FLAG, true) };
}

/** Refuses a metrics port that is the TCP listen port (whatever the addresses). */
export function checkMetricsPort(metrics: MetricsAddress, listen: ListenSource): void {
  if (listen.kind === 'tcp' && listen.port !== 0 && metrics.port === listen.port) {
    throw new ConfigError(
      `${METRICS_FLAG}: port ${metrics.port} is the listen port; metrics are served on a port of their own`,
      METRICS_FLAG,
    );
  }
}
