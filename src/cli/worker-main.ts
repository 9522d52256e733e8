// The entry point of a worker process of `--workers N` (node:cluster runs this file): it builds
// the same server as the command would, from the configuration the primary parsed, with the
// primary's target (a wrapped program's moved port), and serves the connections it is handed.
// --timeout and --idle-timeout are the primary's to apply, so they are off here. With --metrics
// the worker counts its server's events into its default registry, which the primary's
// endpoint asks for and adds up (prom-client is loaded only then).
//
// SIGUSR1 first, as in bin/websockify.js: without a listener Node opens its inspector on it.
process.on('SIGUSR1', () => {});

import type { TargetSpec } from '../targets/target.js';
import type { RunConfig } from './build-server.js';

/** What the primary sends each worker (ClusterPrimaryOptions.data). */
export interface WorkerData {
  config: RunConfig;
  target: TargetSpec | undefined;
}

const { runWorker } = await import('../cluster/worker.js');
const { buildServer } = await import('./build-server.js');
const { startupFailure } = await import('./startup-failure.js');

runWorker(async (data, logger, terminal) => {
  const { config, target } = data as WorkerData;
  try {
    const { server, plugins } = await buildServer(config, target, logger, {
      timeout: undefined,
      idleTimeout: undefined,
    });
    await plugins.preload();
    const stopMetrics = config.metrics
      ? (await import('../metrics/server-metrics.js')).collectServerMetrics(server)
      : undefined;
    return {
      server,
      reload: async () => {
        server.reload();
        await plugins.reload();
      },
      close: async () => {
        await server.close();
        stopMetrics?.();
        await plugins.close();
      },
    };
  } catch (err) {
    return startupFailure(err, logger, terminal);
  }
});
