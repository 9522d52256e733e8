// `websockify-node/metrics`: Prometheus metrics of websockify servers, through prom-client, which
// only this entry loads (the main entry and the CLI without --metrics never do). In one
// process: collectServerMetrics(server) and startMetricsEndpoint({ port }). With node:cluster:
// collectServerMetrics(server) in each worker, startMetricsEndpoint({ port, cluster: true }) in
// the primary. docs/metrics.md lists the metrics.

export { collectServerMetrics, OUTCOMES, type ObservedServer } from './server-metrics.js';
export { startMetricsEndpoint, METRICS_PATH, type MetricsEndpoint, type MetricsEndpointOptions } from './endpoint.js';
