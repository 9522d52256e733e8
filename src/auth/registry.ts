// The auth plugins by name (the reference's class names) and `loadAuthPlugin`, which turns
// `--auth-plugin NAME --auth-source ARG` into a ready plugin, built-in or custom.

import { loadPlugin, type PluginContext } from '../config/plugin-loader.js';
import type { AuthPlugin, AuthPluginFactory } from './auth-plugin.js';
import { createBasicHttpAuth } from './basic-auth.js';
import { createClientCertCnAuth } from './client-cert-cn.js';
import { createExpectOrigin } from './expect-origin.js';

export const AUTH_PLUGINS: Record<string, AuthPluginFactory> = {
  BasicHTTPAuth: createBasicHttpAuth,
  ExpectOrigin: createExpectOrigin,
  ClientCertCNAuth: createClientCertCnAuth,
};

/** Creates auth plugin `name` with `source`; throws ConfigError (ERR_PLUGIN, option authPlugin). */
export function loadAuthPlugin(name: string, source: string | undefined, context: PluginContext): Promise<AuthPlugin> {
  return loadPlugin(name, source, context, {
    builtins: AUTH_PLUGINS,
    prefix: 'websockify.auth_plugins.',
    option: 'authPlugin',
    method: 'authenticate',
  });
}
