// Plugins of both kinds (token plugins choosing targets, auth plugins checking requests): what
// every factory receives (PluginContext), and loading one by name: a built-in from a table, the
// reference's dotted module names for those built-ins (`websockify.token_plugins.TokenFile`),
// or a custom ES module given as a path (`./my-plugin.js`, `/opt/plugins/x.mjs`) whose default
// export is the plugin factory.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../log/logger.js';
import { ConfigError } from '../errors/config-error.js';
import { WebsockifyError, type OptionNamer } from '../errors/websockify-error.js';

/** What a plugin factory gets besides its source argument. */
export interface PluginContext {
  logger: Logger;
}

/**
 * Creates a plugin from its source argument (`--token-source`, `--auth-source`; undefined when
 * none was given). Throwing refuses to start.
 */
export type PluginFactory<P> = (source: string | undefined, context: PluginContext) => P | Promise<P>;

/** Whether a plugin name is a path to a module rather than a built-in's name. */
export function isModulePath(name: string): boolean {
  return name.startsWith('./') || name.startsWith('../') || path.isAbsolute(name) || /\.[cm]?js$/.test(name);
}

/** How to find and check one kind of plugin. */
export interface PluginKind<P> {
  /** Built-in factories by the reference's class names. */
  builtins: Record<string, PluginFactory<P>>;
  /** The reference's module prefix, accepted before a built-in's name. */
  prefix: string;
  /** The key named in errors: `tokenPlugin` (the command line's --token-plugin). */
  option: string;
  /** The method every plugin must have, e.g. `lookup`. */
  method: string;
}

/**
 * "tokenPlugin: <problem>" (the command line: "--token-plugin: <problem>"); a problem that is
 * itself one of our errors keeps its own spelling of keys (`tokenSource`, `--token-source`).
 */
function pluginError(option: string, problem: string | WebsockifyError): ConfigError {
  const words = (name: OptionNamer): string => (typeof problem === 'string' ? problem : problem.describe(name));
  return new ConfigError((name) => `${name(option)}: ${words(name)}`, option, 'ERR_PLUGIN');
}

async function loadFactory<P>(name: string, kind: PluginKind<P>): Promise<PluginFactory<P>> {
  const { builtins, prefix, option } = kind;
  const bare = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  if (Object.hasOwn(builtins, bare)) return builtins[bare]!;
  if (!isModulePath(name)) {
    throw pluginError(
      option,
      `unknown plugin '${name}' (built-in: ${Object.keys(builtins).join(', ')}; ` +
        'a custom plugin is a path to an ES module, e.g. ./my-plugin.js)',
    );
  }
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path.resolve(name)).href)) as { default?: unknown };
  } catch (err) {
    throw pluginError(option, `cannot load '${name}': ${(err as Error).message}`);
  }
  if (typeof module.default !== 'function') {
    throw pluginError(option, `'${name}' has no default export that is a plugin factory function`);
  }
  return module.default as PluginFactory<P>;
}

/**
 * Creates plugin `name` (a built-in, `prefix.Name`, or a module path resolved against the
 * start directory) with `source`. Every failure, including one thrown by the plugin's own
 * factory, is a ConfigError naming the kind's option.
 */
export async function loadPlugin<P>(
  name: string,
  source: string | undefined,
  context: PluginContext,
  kind: PluginKind<P>,
): Promise<P> {
  const factory = await loadFactory(name, kind);
  let plugin: P;
  try {
    plugin = await factory(source, context);
  } catch (err) {
    throw pluginError(kind.option, err instanceof WebsockifyError ? err : (err as Error).message);
  }
  if (typeof (plugin as Record<string, unknown> | undefined)?.[kind.method] !== 'function') {
    throw pluginError(kind.option, `'${name}' did not create an object with a ${kind.method}() method`);
  }
  return plugin;
}
