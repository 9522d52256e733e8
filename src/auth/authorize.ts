// Running the auth plugin on one request: strip the headers a client could use to pretend to
// be a verified TLS peer, add the real client certificate's CN, call the plugin, and turn any
// failure that is not a deliberate refusal into a 500 (the request is never let in by error).

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { clientAddress } from '../protocol/client-address.js';
import { UpgradeRefused } from '../errors/upgrade-refused.js';
import type { TargetSpec } from '../targets/target.js';
import type { AuthPlugin, AuthRequest } from './auth-plugin.js';

/** Header names that carry server-side meaning (TLS peer facts set by a front end). */
const SERVER_SIDE_HEADER = /^(?:x-)?ssl[-_]|^x-(?:forwarded-)?client-cert/;

/** The subject CN of the TLS peer's certificate, when the connection is TLS and it verified. */
export function verifiedClientCN(req: IncomingMessage): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[cn.length - 1] : cn;
}

/** The request as an auth plugin sees it. */
export function authRequest(req: IncomingMessage, target: TargetSpec | undefined): AuthRequest {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!SERVER_SIDE_HEADER.test(name)) headers[name] = value;
  }
  const clientCertCN = verifiedClientCN(req);
  if (clientCertCN !== undefined) headers['ssl_client_s_dn_cn'] = clientCertCN;
  return {
    headers,
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    remoteAddress: clientAddress(req),
    clientCertCN,
    target,
  };
}

/**
 * A refusal from a plugin: an UpgradeRefused (AuthenticationError), or any error with an HTTP
 * error `status` (a custom plugin need not import ours); undefined for other failures.
 */
function asRefusal(err: unknown): UpgradeRefused | undefined {
  if (err instanceof UpgradeRefused) return err;
  const e = err as { status?: unknown; message?: unknown; headers?: unknown; reason?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.status !== 'number') return undefined;
  if (!Number.isInteger(e.status) || e.status < 400 || e.status > 599) return undefined;
  return new UpgradeRefused(e.status, typeof e.message === 'string' && e.message ? e.message : 'Forbidden', {
    headers: typeof e.headers === 'object' && e.headers !== null ? (e.headers as Record<string, string>) : undefined,
    reason: typeof e.reason === 'string' ? e.reason : undefined,
  });
}

/** Resolves when `plugin` lets the request in; rejects with an UpgradeRefused otherwise. */
export async function authorize(
  plugin: AuthPlugin,
  req: IncomingMessage,
  target: TargetSpec | undefined,
): Promise<void> {
  try {
    await plugin.authenticate(authRequest(req, target));
  } catch (err) {
    const refusal = asRefusal(err);
    if (refusal) throw refusal;
    throw new UpgradeRefused(500, 'Authentication failed', {
      logMessage: `auth plugin failed: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
}
