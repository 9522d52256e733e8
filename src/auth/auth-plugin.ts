// The auth plugin interface: what a built-in or custom plugin sees of a request, how it
// refuses one (AuthenticationError with a status, headers and messages), and its factory.

import type { IncomingHttpHeaders } from 'node:http';
import type { PluginFactory } from '../config/plugin-loader.js';
import type { TargetSpec } from '../targets/target.js';
import { UpgradeRefused } from '../errors/upgrade-refused.js';

/** What an auth plugin is shown of a request. */
export interface AuthRequest {
  /**
   * The request headers (lower-case names) without those a client must not set: any
   * `ssl_*`, `ssl-*`, `x-ssl-*` or `x-client-cert*` header it sent is removed. When the
   * connection is TLS with a verified client certificate, `ssl_client_s_dn_cn` holds its
   * subject CN (the reference's Apache-style `SSL_CLIENT_S_DN_CN`).
   */
  headers: IncomingHttpHeaders;
  method: string;
  /** The request target, e.g. `/websockify?token=abc`. */
  url: string;
  remoteAddress: string | undefined;
  /** Subject CN of the verified TLS client certificate, if any. */
  clientCertCN: string | undefined;
  /** Where an upgrade will go; undefined for plain web requests (`--web-auth`). */
  target: TargetSpec | undefined;
}

export interface AuthPlugin {
  /** Returns (or resolves) to let the request in; throws AuthenticationError to refuse it. */
  authenticate(request: AuthRequest): void | Promise<void>;
}

/**
 * Creates an auth plugin from its source (`--auth-source`). A custom auth plugin module's
 * default export has this type.
 */
export type AuthPluginFactory = PluginFactory<AuthPlugin>;

/**
 * Refuses a request: `status` (default 403) with optional `headers` and status-line `reason`;
 * `message` is the response body, `logMessage` what the log says (default: message).
 */
export class AuthenticationError extends UpgradeRefused {
  constructor(
    options: {
      status?: number;
      message?: string;
      logMessage?: string;
      headers?: Record<string, string>;
      reason?: string;
    } = {},
  ) {
    const status = options.status ?? 403;
    super(status, options.message ?? options.reason ?? 'Forbidden', options);
    this.name = 'AuthenticationError';
  }
}
