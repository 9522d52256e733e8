// From a token plugin to a TargetResolver: read the token from the request (`?token=` on any
// path, or the Host header with --host-token), look it up with a deadline, and turn every
// outcome that is not a target into an UpgradeRefused with a clear status: 400 no token,
// 404 unknown token, 502 plugin failure, 504 plugin too slow.

import type { IncomingMessage } from 'node:http';
import { UpgradeRefused } from '../errors/upgrade-refused.js';
import { TokenLookupTimeout, type TokenPlugin } from './plugins/plugin.js';
import type { TargetResolver, TargetSpec } from './target.js';

export interface TokenResolverOptions {
  /** Take the token from the Host header (without its port) instead of `?token=`. */
  hostToken?: boolean;
  /** Longest time a lookup may take before the client gets 504 (default 10 s). */
  timeoutMs?: number;
}

export const TOKEN_LOOKUP_TIMEOUT_MS = 10_000;

/**
 * The token of a request, or undefined. `?token=` is URL-decoded (`+` is a space), the first
 * non-empty value wins and trailing newlines are dropped, as in the reference. The Host form
 * drops the port and the brackets of an IPv6 literal (`[::1]:6080` gives `::1`).
 */
export function tokenFromRequest(req: IncomingMessage, hostToken = false): string | undefined {
  if (hostToken) {
    const host = req.headers.host;
    if (!host) return undefined;
    const name = host.startsWith('[')
      ? host.slice(1, host.indexOf(']') === -1 ? undefined : host.indexOf(']'))
      : host.split(':')[0]!;
    return name === '' ? undefined : name;
  }
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  if (query === -1) return undefined;
  const values = new URLSearchParams(url.slice(query + 1).split('#')[0]).getAll('token');
  const token = values.find((v) => v !== '')?.replace(/\n+$/, '');
  return token === '' ? undefined : token;
}

/** A token as it may appear in a log line or an error body: escaped, at most 80 characters. */
export function printableToken(token: string): string {
  const escaped = JSON.stringify(token).slice(1, -1);
  return escaped.length > 80 ? `${escaped.slice(0, 77)}...` : escaped;
}

function isTargetSpec(value: unknown): value is TargetSpec {
  const t = value as Partial<Record<string, unknown>> | null;
  if (typeof t !== 'object' || t === null) return false;
  if (t['kind'] === 'unix') return typeof t['path'] === 'string' && t['path'] !== '';
  return (
    t['kind'] === 'tcp' &&
    typeof t['host'] === 'string' &&
    Number.isInteger(t['port']) &&
    (t['port'] as number) >= 1 &&
    (t['port'] as number) <= 65535
  );
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TokenLookupTimeout(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** A TargetResolver that asks `plugin` for each upgrade request's token. */
export function tokenResolver(plugin: TokenPlugin, options: TokenResolverOptions = {}): TargetResolver {
  const timeoutMs = options.timeoutMs ?? TOKEN_LOOKUP_TIMEOUT_MS;
  return async (req) => {
    const token = tokenFromRequest(req, options.hostToken);
    if (token === undefined) throw new UpgradeRefused(400, 'Token not present');
    const shown = printableToken(token);
    let target: unknown;
    try {
      target = await withDeadline(
        Promise.resolve().then(() => plugin.lookup(token)),
        timeoutMs,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof TokenLookupTimeout) {
        throw new UpgradeRefused(504, 'Token lookup timed out', {
          logMessage: `Token '${shown}': lookup timed out: ${message}`,
        });
      }
      throw new UpgradeRefused(502, 'Token lookup failed', {
        logMessage: `Token '${shown}': lookup failed: ${message}`,
      });
    }
    if (target === undefined || target === null) throw new UpgradeRefused(404, `Token '${shown}' not found`);
    if (!isTargetSpec(target)) {
      throw new UpgradeRefused(502, 'Token lookup failed', {
        logMessage: `Token '${shown}': the plugin returned ${JSON.stringify(target)}, not a target`,
      });
    }
    return target;
  };
}
