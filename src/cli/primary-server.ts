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

/**
 * Node's flags for the workers: the primary's, and a young generation that shrinks with the
 * number of workers. V8 grows each process's young generation (semi-spaces, up to 16 MB each)
 * under a burst of connections and keeps it; with N workers each sees 1/N of the allocations,
 * so 8/N MB each (at least 2) keeps the cluster's memory per idle connection near one
 * process's (measured: 25 KB per connection over 5,000 with 2 workers at V8's default, 17 KB
 * at 4 MB). A --max-semi-space-size given to node (flags or NODE_OPTIONS) is left alone.
 */
function workerExecArgv(workers: number): string[] {
  const own = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (own.some((flag) => /^--max[-_]semi[-_]space[-_]size/.test(flag))) return process.execArgv;
  return [...process.execArgv, `--max-semi-space-size=${Math.max(2, Math.round(8 / workers))}`];
}

const inWorkers = (): never => {
  throw new Error('plugins run in the workers');
};

export function createPrimary(
  config: RunConfig,
  target: TargetSpec | undefined,
  logger: Logger,
  log: { sinks: readonly LogSink[]; terminal: LogSink },
): { server: ClusterPrimary; plugins: LoadedPlugins } {
  const options = resolveOptions({
    ...config.options,
    ...(config.tokens ? { resolveTarget: inWorkers } : { target }),
    ...(config.auth ? { auth: { authenticate: inWorkers } } : {}),
    logger,
  });
  const data: WorkerData = { config, target };
  const server = new ClusterPrimary({
    workers: config.workers,
    options,
    exec: WORKER_ENTRY,
    execArgv: workerExecArgv(config.workers),
    data,
    sinks: log.sinks,
    terminal: log.terminal,
  });
  const plugins: LoadedPlugins = {
    ...(config.tokens ? { targetLabel: tokenTargetLabel(config.tokens.name) } : {}),
    // Reloads and closes reach the workers' plugins through the primary.
    reload: async () => {},
    preload: async () => {},
    close: async () => {},
  };
  return { server, plugins };
}
