// BaseTokenAPI and JSONTokenApi: the token is looked up with an HTTP GET of the source URL,
// whose `%s` is replaced by the URL-encoded token. A 2xx answer carries the target (text
// `host:port`, or JSON `{"host": ..., "port": ...}`); any other status means an unknown token.
// Requests time out, so a hung API cannot hold clients forever.

import type { TargetSpec } from '../target.js';
import { TokenLookupTimeout, type TokenPlugin } from './plugin.js';
import { parseTargetText, targetFromFields } from './target-text.js';
import { badSource } from '../../errors/config-error.js';

export const TOKEN_API_TIMEOUT_MS = 5000;

/** Builds the request URL: `%s` becomes the encoded token and `%%` a percent sign. */
function urlFor(template: string, token: string): string {
  return template.replace(/%[s%]/g, (m) => (m === '%%' ? '%' : encodeURIComponent(token)));
}

type BodyReader = (body: string) => TargetSpec | undefined;

function createApiPlugin(name: string, source: string | undefined, read: BodyReader, timeoutMs: number): TokenPlugin {
  if (!source || !/%s/.test(source.replace(/%%/g, ''))) {
    throw badSource('tokenSource', (s) => `${name} needs ${s}: a URL containing %s where the token goes`);
  }
  const url = urlFor(source, 'token');
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
    throw new Error(`${name}: token source '${source}' is not an http(s) URL`);
  }
  return {
    async lookup(token) {
      let response: Response;
      let body: string;
      try {
        response = await fetch(urlFor(source, token), { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
        if (!response.ok) {
          await response.body?.cancel();
          return undefined;
        }
        body = await response.text();
      } catch (err) {
        if ((err as Error).name === 'TimeoutError') {
          throw new TokenLookupTimeout(`${name}: no answer within ${timeoutMs / 1000} s`);
        }
        throw new Error(`${name}: request failed: ${(err as Error).cause ?? (err as Error).message}`);
      }
      const target = read(body);
      if (target === undefined) throw new Error(`${name}: answer is not a target: '${body.slice(0, 100)}'`);
      return target;
    },
  };
}

/** The answer's body is `host:port` (or `[v6]:port`, `unix_socket:/path`). */
export function createBaseTokenApi(source: string | undefined, timeoutMs = TOKEN_API_TIMEOUT_MS): TokenPlugin {
  return createApiPlugin('BaseTokenAPI', source, parseTargetText, timeoutMs);
}

/** The answer's body is JSON with `host` and `port`. */
export function createJsonTokenApi(source: string | undefined, timeoutMs = TOKEN_API_TIMEOUT_MS): TokenPlugin {
  return createApiPlugin(
    'JSONTokenApi',
    source,
    (body) => {
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        return undefined;
      }
      const o = (value ?? {}) as { host?: unknown; port?: unknown };
      return targetFromFields(o.host, o.port);
    },
    timeoutMs,
  );
}
