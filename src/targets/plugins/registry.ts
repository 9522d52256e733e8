// The token plugins by name (the reference's class names) and `loadTokenPlugin`, which turns
// `--token-plugin NAME --token-source ARG` into a ready plugin, built-in or custom. The JWT and
// Redis plugins are imported only when chosen: `jose` and `ioredis` would otherwise sit in every
// proxy's heap, and each full GC (frequent under buffer churn) must mark all of it
// (BENCHMARKS.md).

import { loadPlugin, type PluginContext } from '../../config/plugin-loader.js';
import type { TokenPlugin, TokenPluginFactory } from './plugin.js';
import { createBaseTokenApi, createJsonTokenApi } from './token-api.js';
import { createReadOnlyTokenFile, createTokenFile } from './token-file.js';
import { createTokenFileName } from './token-file-name.js';
import { createUnixSocketDirectory } from './unix-socket-directory.js';

export const TOKEN_PLUGINS: Record<string, TokenPluginFactory> = {
  TokenFile: createTokenFile,
  ReadOnlyTokenFile: createReadOnlyTokenFile,
  TokenFileName: createTokenFileName,
  BaseTokenAPI: (source) => createBaseTokenApi(source),
  JSONTokenApi: (source) => createJsonTokenApi(source),
  JWTTokenApi: async (source, context) => (await import('./jwt-token.js')).createJwtTokenApi(source, context),
  TokenRedis: async (source, context) => (await import('./redis-token.js')).createTokenRedis(source, context),
  UnixDomainSocketDirectory: createUnixSocketDirectory,
};

/** Creates token plugin `name` with `source`; throws ConfigError (ERR_PLUGIN, option tokenPlugin). */
export function loadTokenPlugin(
  name: string,
  source: string | undefined,
  context: PluginContext,
): Promise<TokenPlugin> {
  return loadPlugin(name, source, context, {
    builtins: TOKEN_PLUGINS,
    prefix: 'websockify.token_plugins.',
    option: 'tokenPlugin',
    method: 'lookup',
  });
}
