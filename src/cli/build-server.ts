// Building the command's server from its configuration: the token and auth plugins named on the
// command line are loaded, then a WebsockifyServer is made with them. The command does this
// for itself, and each worker of `--workers N` does it for its own server (worker-main.ts).

import type { WebsockifyOptions } from '../config/options.js';
import type { Logger } from '../log/logger.js';
import { WebsockifyServer } from '../server/websockify-server.js';
import type { TargetSpec } from '../targets/target.js';
import type { CliConfig } from './parse.js';
import { loadCliPlugins, type LoadedPlugins } from './plugins.js';

export type RunConfig = Extract<CliConfig, { kind: 'run' }>;

/**
 * `target` is the fixed target (a wrapped program's moved port, or the one given), unused with
 * a token plugin; `overrides` replace options (a worker's lifetime rules are its primary's).
 */
export async function buildServer(
  config: RunConfig,
  target: TargetSpec | undefined,
  logger: Logger,
  overrides: Partial<WebsockifyOptions> = {},
): Promise<{ server: WebsockifyServer; plugins: LoadedPlugins }> {
  const plugins = await loadCliPlugins(config, logger);
  const { resolveTarget, auth } = plugins;
  try {
    const server = new WebsockifyServer({
      ...config.options,
      ...(resolveTarget ? { resolveTarget } : { target }),
      auth,
      ...overrides,
      logger,
    });
    return { server, plugins };
  } catch (err) {
    await plugins.close();
    throw err;
  }
}
