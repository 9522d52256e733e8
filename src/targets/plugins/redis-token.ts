// TokenRedis: tokens are keys in Redis (`namespace:token`, or `token` with no namespace) whose
// values are `host:port` or JSON `{"host": "host:port"}`. One shared ioredis connection, made
// in the background and remade by itself; while Redis is unreachable, lookups fail at once (the
// client gets 502) instead of queueing until it returns.

import { Redis } from 'ioredis';
import type { TargetSpec } from '../target.js';
import type { PluginContext } from '../../config/plugin-loader.js';
import type { TokenPlugin } from './plugin.js';
import { parseTargetText } from './target-text.js';
import { badSource } from '../../errors/config-error.js';

export interface RedisSource {
  host: string;
  port: number;
  db: number;
  password: string | undefined;
  namespace: string | undefined;
}

/**
 * Splits `a:b:c` on colons, except inside a field written whole in double quotes:
 * `host::::"ns1:ns2"` gives ['host', '', '', '', 'ns1:ns2'] (the reference's rule).
 */
export function splitSourceFields(source: string): string[] {
  const fields: string[] = [];
  let at = 0;
  for (;;) {
    if (source[at] === '"') {
      const close = source.indexOf('"', at + 1);
      const after = source[close + 1];
      if (close > at + 1 && (after === ':' || after === undefined)) {
        fields.push(source.slice(at + 1, close));
        if (after === undefined) return fields;
        at = close + 2;
        continue;
      }
    }
    const colon = source.indexOf(':', at);
    fields.push(source.slice(at, colon === -1 ? undefined : colon));
    if (colon === -1) return fields;
    at = colon + 1;
  }
}

function whole(text: string, what: string, fallback: number): number {
  if (text === '') return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`TokenRedis: ${what} '${text}' is not a number`);
  return Number(text);
}

/** Parses `host[:port[:db[:password[:namespace]]]]`; empty fields take the defaults. */
export function parseRedisSource(source: string | undefined): RedisSource {
  if (!source) throw badSource('tokenSource', (s) => `TokenRedis needs ${s} host[:port[:db[:password[:namespace]]]]`);
  const fields = splitSourceFields(source);
  if (fields.length > 5) {
    throw new Error(`TokenRedis: token source '${source}' has more than 5 fields (quote a field containing ':')`);
  }
  const [host = '', port = '', db = '', password = '', namespace = ''] = fields;
  const portNumber = whole(port, 'port', 6379);
  if (portNumber < 1 || portNumber > 65535) throw new Error(`TokenRedis: port ${portNumber} is out of range`);
  return {
    host: host || 'localhost',
    port: portNumber,
    db: whole(db, 'database number', 0),
    password: password || undefined,
    namespace: namespace || undefined,
  };
}

/** A stored value: JSON `{"host": "h:p"}` or plain `h:p`; undefined when it is neither. */
export function targetFromRedisValue(value: string): TargetSpec | undefined {
  const text = value.trim();
  if (text.startsWith('{')) {
    try {
      const host = (JSON.parse(text) as { host?: unknown }).host;
      return typeof host === 'string' ? parseTargetText(host) : undefined;
    } catch {
      return undefined;
    }
  }
  return /^\S+:\S+$/.test(text) ? parseTargetText(text) : undefined;
}

const RECONNECT_MAX_DELAY_MS = 2000;
const COMMAND_TIMEOUT_MS = 3000;

/**
 * Connects in the background (websockify listens at once) and answers lookups on that one
 * connection. While Redis is unreachable, at start or later, lookups fail at once with
 * "redis at HOST:PORT unreachable: CODE" (the client gets 502), and that is logged once per
 * outage, not per retry.
 */
export async function createTokenRedis(source: string | undefined, { logger }: PluginContext): Promise<TokenPlugin> {
  const s = parseRedisSource(source);
  const where = `redis at ${s.host}:${s.port}`;
  const client = new Redis({
    host: s.host,
    port: s.port,
    db: s.db,
    ...(s.password === undefined ? {} : { password: s.password }),
    enableOfflineQueue: false, // fail fast during an outage instead of queueing lookups
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_MAX_DELAY_MS),
  });
  /** Why Redis cannot be used now (an errno code such as ECONNREFUSED); undefined when ready. */
  let problem: string | undefined = 'not connected yet';
  let announced = false;
  const fail = (why: string): void => {
    problem = why;
    if (announced) return;
    announced = true;
    logger.warn(`TokenRedis: ${where} unreachable: ${why}; lookups answer 502 until it is back`);
  };
  client.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  client.on('close', () => fail(problem ?? 'connection lost'));
  client.on('ready', () => {
    if (announced) logger.info(`TokenRedis: ${where}: connected again`);
    problem = undefined;
    announced = false;
  });
  // Lookups that come while the first connection attempt is still under way wait for its outcome.
  const firstAttempt = new Promise<void>((resolve) => {
    client.once('ready', () => resolve());
    client.once('close', () => resolve());
  });
  return {
    async lookup(token) {
      await firstAttempt;
      if (problem !== undefined && client.status !== 'ready') {
        throw new Error(`TokenRedis: ${where} unreachable: ${problem}`);
      }
      const key = s.namespace === undefined ? token : `${s.namespace}:${token}`;
      let value: string | null;
      try {
        value = await client.get(key);
      } catch (err) {
        throw new Error(`TokenRedis: ${where}: ${(err as Error).message}`);
      }
      if (value === null) return undefined;
      const target = targetFromRedisValue(value);
      if (target === undefined) logger.warn(`TokenRedis: value of key ${JSON.stringify(key)} is not a target`);
      return target;
    },
    close() {
      client.disconnect();
    },
  };
}
