// `--metrics` for the command: in one process, count the server's events into the default
// registry and serve them on the metrics address; as the primary of --workers, serve the sum of
// the workers' registries (each worker counts its own server). Loaded by the CLI only when the
// flag is given (it loads prom-client).

import type { Logger } from '../log/logger.js';
import { startMetricsEndpoint } from './endpoint.js';
import type { MetricsAddress } from '../config/metrics-address.js';
import { collectServerMetrics, type ObservedServer } from './server-metrics.js';

export interface ServedMetrics {
  /** `http://HOST:PORT/metrics`, as bound. */
  url: string;
  close(): Promise<void>;
}

/** Rejects with the OS error when the metrics address cannot be bound (nothing is left running). */
export async function serveServerMetrics(
  server: ObservedServer,
  address: MetricsAddress,
  logger: Logger,
): Promise<ServedMetrics> {
  const stop = collectServerMetrics(server);
  try {
    const endpoint = await startMetricsEndpoint({ ...address, logger });
    return {
      url: endpoint.url,
      close: async () => {
        stop();
        await endpoint.close();
      },
    };
  } catch (err) {
    stop();
    throw err;
  }
}

/** The primary of --workers: serves the sum over the workers, each collecting its own server. */
export async function serveClusterMetrics(address: MetricsAddress, logger: Logger): Promise<ServedMetrics> {
  const endpoint = await startMetricsEndpoint({ ...address, cluster: true, logger });
  return { url: endpoint.url, close: () => endpoint.close() };
}
