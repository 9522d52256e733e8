// Helpers for token and auth plugin tests: a logger that keeps its lines, a proxy whose target
// comes from a token plugin, and an upgrade attempt read back as status, headers and body.

import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  createLogger,
  tokenResolver,
  type AuthPlugin,
  type Logger,
  type TokenPlugin,
  type TokenResolverOptions,
} from '../../src/index.js';
import { defer } from './cleanup.js';
import { upgradeRequest } from './clients.js';
import { startProxy } from './proxy.js';
import { withTimeout } from './wait.js';

export interface RecordingLogger extends Logger {
  lines: string[];
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  return Object.assign(createLogger({ verbose: true, sinks: [(_level, line) => lines.push(line)] }), { lines });
}

/** A temporary directory removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsfy-plugins-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A library proxy choosing targets with `plugin`; closed after the test. */
export async function tokenProxy(
  plugin: TokenPlugin,
  options: TokenResolverOptions & { auth?: AuthPlugin } = {},
): Promise<{ port: number; url: string; logger: RecordingLogger }> {
  const logger = recordingLogger();
  const { auth, ...resolverOptions } = options;
  const { server, port, url } = await startProxy({
    resolveTarget: tokenResolver(plugin, resolverOptions),
    logger,
    auth,
  });
  defer(() => server.close());
  return { port, url, logger };
}

export interface HttpAnswer {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: string;
}

/** Parses a raw HTTP response head and body. */
export function parseAnswer(raw: string): HttpAnswer {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...headerLines] = raw.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) (.*)$/.exec(statusLine ?? '');
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(raw.slice(0, 200))}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(m[1]), reason: m[2]!, headers, body: raw.slice(end + 4) };
}

/**
 * Sends an upgrade request for `path` and returns the answer: an error response whole (the
 * server closes after it), a 101 as soon as its head has arrived (the connection is dropped).
 */
export function attemptUpgrade(port: number, urlPath: string, extra: string[] = []): Promise<HttpAnswer> {
  return withTimeout(
    new Promise<HttpAnswer>((resolve, reject) => {
      let raw = '';
      const s = net.connect(port, '127.0.0.1', () => s.write(upgradeRequest(urlPath, extra)));
      s.on('data', (d) => {
        raw += d.toString('latin1');
        if (raw.startsWith('HTTP/1.1 101 ') && raw.includes('\r\n\r\n')) {
          s.destroy();
          resolve(parseAnswer(raw));
        }
      });
      s.on('close', () => (raw.startsWith('HTTP/1.1 101 ') ? undefined : resolve(parseAnswer(raw))));
      s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    }),
    10000,
    `upgrade ${urlPath}`,
  );
}
