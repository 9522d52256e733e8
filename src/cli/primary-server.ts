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

/** The young generation each worker starts with (--max-semi-space-size, MB). */
const WORKER_SEMI_SPACE_MB = 2;

/**
 * Node's flags for the workers: the primary's, and a small young generation. V8 grows each
 * process's semi-spaces (up to 16 MB each) under a burst of connections and keeps them, and
 * with N workers that growth is paid N times. Measured with 2 workers, RSS per idle connection
 * summed over the three processes at 1,000 connections: 25.5, 23.8, 27.7 KB with 4 MB per
 * worker, 18.9, 22.6, 19.3 KB with 2 MB (25 KB over 5,000 at V8's default); throughput did not
 * move beyond noise. The flag comes after the primary's own (the launcher's 4 MB), so it wins;
 * a size set in NODE_OPTIONS, which the workers inherit, is kept instead.
 */
function workerExecArgv(): string[] {
  if (/--max[-_]semi[-_]space[-_]size/.test(process.env.NODE_OPTIONS ?? '')) return process.execArgv;
  return [...process.execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`];
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
    execArgv: workerExecArgv(),
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
