// The token plugin interface: what a built-in or custom plugin implements to map a token to a
// target, what its factory receives, and the errors a lookup may raise on purpose.

import type { PluginFactory } from '../../config/plugin-loader.js';
import { WebsockifyError } from '../../errors/websockify-error.js';
import type { TargetSpec } from '../target.js';

/** What a token maps to: a target, or undefined for an unknown token. */
export type TokenLookupResult = TargetSpec | undefined;

export interface TokenPlugin {
  /**
   * Maps a token (already URL-decoded) to a target. Return undefined for an unknown token
   * (the client gets 404); throw for a failure of the plugin itself (502, or 504 for
   * TokenLookupTimeout).
   */
  lookup(token: string): TokenLookupResult | Promise<TokenLookupResult>;
  /** Reads the plugin's source again now (SIGHUP); optional. */
  reload?(): void | Promise<void>;
  /** Releases connections and timers when the server stops. */
  close?(): void | Promise<void>;
}

/**
 * Creates a token plugin from its source (`--token-source`). A custom plugin module's default
 * export has this type.
 */
export type TokenPluginFactory = PluginFactory<TokenPlugin>;

/** A lookup that did not answer in time (an API or database too slow): 504 for the client. */
export class TokenLookupTimeout extends WebsockifyError {
  constructor(message: string) {
    super('ERR_TOKEN_LOOKUP_TIMEOUT', message);
    this.name = 'TokenLookupTimeout';
  }
}
