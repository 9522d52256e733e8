// The `--metrics [ADDR:]PORT` value: where the metrics listener binds. A bare port binds on
// loopback only. The metrics are never served on the public listen port: that is refused, not
// just avoided (the public port takes anyone, and its paths belong to the proxy and --web).

import { isIP } from 'node:net';
import { optionProblem } from '../errors/config-error.js';
import type { ListenOption } from './options.js';
import { PORT, type ValueKind } from './values.js';

/** Where a bare `--metrics PORT` binds. */
export const METRICS_DEFAULT_HOST = '127.0.0.1';

export interface MetricsAddress {
  host: string;
  /** 0 picks a free port (the banner says which). */
  port: number;
}

/** A host name: letters, digits, dots, hyphens, underscores. */
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/** A port, or 0 for a free one. */
function metricsPort(text: string, key: string): number {
  return text === '0' ? 0 : PORT.parse(text, key, 'PORT');
}

/** `[ADDR:]PORT`, split on the last colon (`[::1]:9100`, `::1:9100`); port 0 picks a free one. */
export const METRICS_ADDRESS: ValueKind<MetricsAddress> = {
  takesValue: true,
  metavar: '[ADDR:]PORT',
  parse(text, key) {
    const colon = text.lastIndexOf(':');
    if (colon === -1) return { host: METRICS_DEFAULT_HOST, port: metricsPort(text, key) };
    const rawHost = text.slice(0, colon);
    const bracketed = rawHost.startsWith('[') && rawHost.endsWith(']');
    const host = bracketed ? rawHost.slice(1, -1) : rawHost;
    if (host === '') {
      throw optionProblem(
        key,
        `'${text}' has an empty address; give PORT alone for ${METRICS_DEFAULT_HOST}, or ADDR:PORT`,
      );
    }
    if (isIP(host) === 0 && (bracketed || !HOST_NAME.test(host))) {
      throw optionProblem(key, `'${rawHost}' is not an address`);
    }
    return { host, port: metricsPort(text.slice(colon + 1), key) };
  },
};

/** Refuses a metrics port that is the TCP listen port, whatever the two addresses. */
export function checkMetricsPort(metrics: MetricsAddress, listen: ListenOption, key = 'metrics'): void {
  if ('port' in listen && listen.port !== 0 && metrics.port === listen.port) {
    throw optionProblem(key, `port ${metrics.port} is the listen port; metrics are served on a port of their own`);
  }
}
