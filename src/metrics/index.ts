// Prometheus metrics (`--metrics`): this module and prom-client are loaded only when metrics are
// asked for. In one process: collectServerMetrics(server) and startMetricsEndpoint({ port }). With
// node:cluster: collectServerMetrics(server) in each worker, startMetricsEndpoint({ port,
// cluster: true }) in the primary.

export { collectServerMetrics, closeCodeLabel, OUTCOMES, type ObservedServer } from './server-metrics.js';
export { startMetricsEndpoint, METRICS_PATH, type MetricsEndpoint, type MetricsEndpointOptions } from './endpoint.js';
export {
  parseMetricsAddress,
  checkMetricsPort,
  METRICS_DEFAULT_HOST,
  METRICS_FLAG,
  type MetricsAddress,
} from './metrics-address.js';
