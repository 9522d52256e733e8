// prom-client's cluster aggregation link, one per process: in a node:cluster primary its
// AggregatorRegistry asks the workers for their default registries and sums them; in a worker,
// creating it is what makes the worker answer those requests (prom-client adds its IPC listener
// then, not when it is loaded).

import cluster from 'node:cluster';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';

let aggregator: AggregatorRegistry<PrometheusContentType> | undefined;

/** The process's AggregatorRegistry (created, and its IPC listener added, on first use). */
export function clusterAggregator(): AggregatorRegistry<PrometheusContentType> {
  aggregator ??= new AggregatorRegistry();
  return aggregator;
}

/** In a node:cluster worker: answer the primary's requests for the default registry. */
export function answerPrimaryScrapes(): void {
  if (cluster.isWorker) clusterAggregator();
}
