// The command as the primary of `--workers N` (loaded only then): a ClusterPrimary in place of
// the WebsockifyServer, with the same options. The primary proxies nothing, so the plugins are
// loaded by the workers only; stand-ins let the options be checked and described here, as with
// one process, before anything is bound.

import { fileURLToPath } from 'node:url';
import { ClusterPrimary } from '../cluster/primary.js';
import { resolveOptions } from '../config/options.js';
import type { Logger, LogSink } from '../log/logger.js';
import type { TargetSpec } from '../targets/target.js';
import type { RunConfig } from './build-server.js';
import { tokenTargetLabel, type LoadedPlugins } from './plugins.js';
import type { WorkerData } from './worker-main.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker-main.js', import.meta.url));

const inWorkers = (): never => {
  throw new Error('plugins run in the workers');
};

export function createPrimary(
  config: RunConfig,
  target: TargetSpec | undefined,
  logger: Logger,
  sinks: readonly LogSink[],
  terminal: LogSink,
): { server: ClusterPrimary; plugins: LoadedPlugins } {
  const options = resolveOptions({
    ...config.options,
    ...(config.tokens ? { resolveTarget: inWorkers } : { target }),
    ...(config.auth ? { auth: { authenticate: inWorkers } } : {}),
    logger,
  });
  const data: WorkerData = { config, target };
  const server = new ClusterPrimary({ workers: config.workers, options, exec: WORKER_ENTRY, data, sinks, terminal });
  const plugins: LoadedPlugins = {
    ...(config.tokens ? { targetLabel: tokenTargetLabel(config.tokens.name) } : {}),
    // Reloads and closes reach the workers' plugins through the primary.
    reload: async () => {},
    preload: async () => {},
    close: async () => {},
  };
  return { server, plugins };
}
