// The metrics listener: a small HTTP server of its own (never the public port) answering
// `GET /metrics` in Prometheus text format, from this process's registry or, in a node:cluster
// primary, from prom-client's AggregatorRegistry, which asks every worker for its default
// registry over the cluster IPC channel and adds them up.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { register as defaultRegistry, type Registry } from 'prom-client';
import { formatHostPort } from '../config/address.js';
import { listenServer } from '../listen/server-listen.js';
import type { Logger } from '../log/logger.js';
import { clusterAggregator } from './cluster-link.js';
import { METRICS_DEFAULT_HOST } from '../config/metrics-address.js';

export const METRICS_PATH = '/metrics';

export interface MetricsEndpointOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /**
   * Serve the sum over this primary's node:cluster workers (each collecting into its default
   * registry) instead of this process's own registry.
   */
  cluster?: boolean;
  /** This process's registry to serve when not `cluster` (default: prom-client's default). */
  registry?: Registry;
  /** Where a failed scrape is reported. */
  logger?: Logger;
}

export interface MetricsEndpoint {
  /** The bound address. */
  address(): AddressInfo;
  /** `http://HOST:PORT/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

interface MetricsSource {
  contentType: string;
  text(): Promise<string>;
}

function metricsSource(options: MetricsEndpointOptions): MetricsSource {
  if (options.cluster) {
    const registry = clusterAggregator();
    return { contentType: registry.contentType, text: () => registry.clusterMetrics() };
  }
  const registry = options.registry ?? defaultRegistry;
  return { contentType: registry.contentType, text: () => registry.metrics() };
}

/** Starts the listener; rejects with the OS error (EADDRINUSE, EACCES...) when it cannot bind. */
export async function startMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const host = options.host ?? METRICS_DEFAULT_HOST;
  const source = metricsSource(options);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`Metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end();
      return;
    }
    source.text().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': source.contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        options.logger?.warn(`metrics: collecting failed: ${message}`);
        res
          .writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
          .end(`collecting metrics failed: ${message}\n`);
      },
    );
  });
  server.keepAliveTimeout = 5000;
  await listenServer(server, { port: options.port, host });
  server.on('error', (err) => options.logger?.error(`metrics listener: ${err.message}`));
  const address = (): AddressInfo => server.address() as AddressInfo;
  return {
    address,
    url: `http://${formatHostPort(address().address, address().port)}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
