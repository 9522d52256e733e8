// Prometheus metrics: a real server's sessions and refusals counted into a registry and scraped
// over HTTP from the metrics listener (exact values and label sets); the same summed over two
// node:cluster workers by the primary; the `--metrics` flag of the CLI (its own port on
// loopback, bad values exit 2); and the Grafana dashboard, whose every query names a metric a
// real scrape has.

import { describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { AuthenticationError, tokenResolver, VERSION, type AuthPlugin, type RefusalReason } from '../src/index.js';
import { collectServerMetrics, OUTCOMES, startMetricsEndpoint } from '../src/metrics/index.js';
import { defer } from './helpers/cleanup.js';
import { openClient, rawExchange, upgradeRequest } from './helpers/clients.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { runCli, startCliForTest } from './helpers/cli.js';
import { recordingLogger } from './helpers/plugins.js';
import { startProxy } from './helpers/proxy.js';
import { blackhole, echoTarget, unusedPort } from './helpers/targets.js';
import { WORKER_MODES } from './helpers/workers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

/** One scrape: every sample by `name{label="value",...}` (labels sorted), and the raw text. */
interface Scrape {
  text: string;
  samples: Map<string, number>;
  contentType: string;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

function parseScrape(text: string, contentType: string): Scrape {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!;
    samples.set(sampleKey(m[1]!, labels), Number(m[3]));
  }
  return { text, samples, contentType };
}

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return parseScrape(await res.text(), res.headers.get('content-type') ?? '');
}

/** The samples of metric `name` (its series), as `{labels} -> value` keys without the name. */
function series(s: Scrape, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of s.samples) {
    if (key === name || key.startsWith(`${name}{`)) out[key.slice(name.length)] = value;
  }
  return out;
}

/** connections_total as outcome -> count, every outcome present. */
function outcomes(s: Scrape): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [labels, value] of Object.entries(series(s, 'websockify_connections_total'))) {
    out[/outcome="([^"]*)"/.exec(labels)![1]!] = value;
  }
  return out;
}

const zeroOutcomes = (): Record<string, number> => Object.fromEntries(OUTCOMES.map((o) => [o, 0]));

/** A standalone server counting into a fresh registry, served by a metrics listener of its own. */
async function metered(options: Parameters<typeof startProxy>[0]) {
  const registry = new Registry();
  const { server, url, port } = await startProxy({ logger: recordingLogger(), ...options });
  defer(() => server.close());
  const stop = collectServerMetrics(server, registry);
  defer(stop);
  const endpoint = await startMetricsEndpoint({ port: 0, registry });
  defer(() => endpoint.close());
  return { server, url, port, endpoint, registry };
}

/** Opens a session, sends `size` bytes, waits for their echo, closes with `code`. */
async function echoSession(url: string, size: number, code: number): Promise<void> {
  const c = await openClient(url, 'binary');
  const data = randomBytes(size);
  c.ws.send(data);
  expect((await c.waitForBytes(size)).equals(data)).toBe(true);
  c.ws.close(code);
  await withTimeout(c.closed, 5000, 'close');
}

/** Sessions, refusals and a failed target against one server; returns its scrape once all ended. */
async function scenario() {
  const echo = await echoTarget();
  defer(() => echo.close());
  const dead = await unusedPort();
  const resolveTarget = tokenResolver({
    lookup: (token) =>
      ({
        good: { kind: 'tcp', host: '127.0.0.1', port: echo.port },
        dead: { kind: 'tcp', host: '127.0.0.1', port: dead },
      })[token] as { kind: 'tcp'; host: string; port: number } | undefined,
  });
  const auth: AuthPlugin = {
    authenticate({ url }) {
      if (url.includes('nopass')) throw new AuthenticationError({ status: 401 });
    },
  };
  const m = await metered({ resolveTarget, auth });
  // One session held open: live bytes and the active gauge.
  const held = await openClient(`${m.url}/?token=good`, 'binary');
  defer(() => held.ws.terminate());
  const heldData = randomBytes(700);
  held.ws.send(heldData);
  expect((await held.waitForBytes(700)).equals(heldData)).toBe(true);
  const during = await scrape(m.endpoint.url);

  await echoSession(`${m.url}/?token=good`, 1000, 4321);
  const failed = await openClient(`${m.url}/?token=dead`, 'binary');
  expect((await withTimeout(failed.closed, 5000, 'close')).code).toBe(1011);
  for (const request of [
    upgradeRequest('/?token=unknown'),
    upgradeRequest('/?token=good&nopass'),
    upgradeRequest('/?token=good').replace('Version: 13', 'Version: 99'),
  ]) {
    await rawExchange(m.port, request);
  }
  held.ws.close(1000);
  await withTimeout(held.closed, 5000, 'close');
  await eventually(() => m.server.sessionCount === 0, 'every session ended');
  const after = await scrape(m.endpoint.url);
  return { during, after, m };
}

describe('metrics of one server, scraped', () => {
  it('counts sessions, refusals, bytes, latencies, durations and close codes exactly', async () => {
    const { during, after, m } = await scenario();

    expect(during.samples.get('websockify_active_sessions')).toBe(1);
    // Bytes of a session still open are counted at the scrape, not only at its end.
    expect(series(during, 'websockify_bytes_total')).toStrictEqual({
      '{direction="to_client"}': 700,
      '{direction="to_target"}': 700,
    });
    expect(outcomes(during)).toStrictEqual({ ...zeroOutcomes(), proxied: 1 });

    expect(after.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(outcomes(after)).toStrictEqual({
      ...zeroOutcomes(),
      proxied: 2,
      target_failed: 1,
      token: 1,
      auth: 1,
      bad_handshake: 1,
    });
    expect(series(after, 'websockify_refusals_total')).toStrictEqual({
      '{reason="auth",status="401"}': 1,
      '{reason="bad_handshake",status="426"}': 1,
      '{reason="token",status="404"}': 1,
    });
    expect(after.samples.get('websockify_active_sessions')).toBe(0);
    expect(series(after, 'websockify_bytes_total')).toStrictEqual({
      '{direction="to_client"}': 1700,
      '{direction="to_target"}': 1700,
    });
    expect(series(after, 'websockify_sessions_closed_total')).toStrictEqual({
      '{code="1000"}': 1,
      '{code="1011"}': 1,
      '{code="4xxx"}': 1,
    });
    expect(series(after, 'websockify_target_connect_errors_total')).toStrictEqual({ '{code="ECONNREFUSED"}': 1 });
    // Histograms: every upgrade's handshake, every connect by result, every session's duration.
    expect(after.samples.get('websockify_handshake_seconds_count')).toBe(3);
    expect(after.samples.get('websockify_handshake_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(after.samples.get('websockify_target_connect_seconds_count{result="connected"}')).toBe(2);
    expect(after.samples.get('websockify_target_connect_seconds_count{result="error"}')).toBe(1);
    expect(after.samples.has('websockify_target_connect_seconds_count{result="timeout"}')).toBe(false);
    expect(after.samples.get('websockify_session_duration_seconds_count')).toBe(3);
    const durationSum = after.samples.get('websockify_session_duration_seconds_sum')!;
    expect(durationSum).toBeGreaterThan(0);
    // Buckets are cumulative and end at the count.
    const buckets = Object.entries(series(after, 'websockify_handshake_seconds_bucket')).map(([, v]) => v);
    expect(buckets).toStrictEqual([...buckets].sort((a, b) => a - b));
    expect(after.samples.get(`websockify_build_info{version="${VERSION}"}`)).toBe(1);
    // prom-client's process metrics.
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(after.samples.has(name)).toBe(true);
    }
    // The metrics listener is not the public port, and answers only /metrics.
    expect(m.endpoint.address().port).not.toBe(m.port);
    expect(m.endpoint.address().address).toBe('127.0.0.1');
    expect((await fetch(m.endpoint.url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(m.endpoint.url, { method: 'POST' })).status).toBe(405);
    const head = await fetch(m.endpoint.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('a session whose client left before its target connected is abandoned; a timeout is its own result', async () => {
    const port = await blackhole();
    const m = await metered({ target: `127.0.0.1:${port}`, connectTimeout: 0.3 });
    const timedOut = await openClient(m.url, 'binary');
    expect((await withTimeout(timedOut.closed, 10000, 'close')).code).toBe(1011);
    const left = await openClient(m.url, 'binary');
    left.ws.terminate();
    await eventually(() => m.server.sessionCount === 0, 'sessions ended');
    const s = await scrape(m.endpoint.url);
    expect(outcomes(s)).toStrictEqual({ ...zeroOutcomes(), target_failed: 1, abandoned: 1 });
    expect(s.samples.get('websockify_target_connect_seconds_count{result="timeout"}')).toBe(1);
    expect(series(s, 'websockify_target_connect_errors_total')).toStrictEqual({ '{code="ETIMEDOUT"}': 1 });
    expect(series(s, 'websockify_sessions_closed_total')).toStrictEqual({ '{code="1006"}': 1, '{code="1011"}': 1 });
  });

  it('every refusal reason has its outcome and reason label', async () => {
    // Any emitter of the server events can be observed (attachWebsockify's, a WebsockifyServer).
    const emitter = new EventEmitter();
    const registry = new Registry();
    collectServerMetrics(emitter, registry);
    const reasons: RefusalReason[] = ['bad-handshake', 'token', 'auth', 'origin', 'limit', 'draining', 'fd-limit'];
    for (const reason of reasons)
      emitter.emit('refused', { reason, status: reason === 'fd-limit' ? 0 : 503, peer: 'x' });
    const s = parseScrape(await registry.metrics(), registry.contentType);
    expect(outcomes(s)).toStrictEqual({
      ...zeroOutcomes(),
      bad_handshake: 1,
      token: 1,
      auth: 1,
      origin: 1,
      limit: 1,
      draining: 1,
      fd_limit: 1,
    });
    expect(Object.keys(series(s, 'websockify_refusals_total')).sort()).toStrictEqual(
      [
        '{reason="auth",status="503"}',
        '{reason="bad_handshake",status="503"}',
        '{reason="draining",status="503"}',
        '{reason="fd_limit",status="0"}',
        '{reason="limit",status="503"}',
        '{reason="origin",status="503"}',
        '{reason="token",status="503"}',
      ].sort(),
    );
  });
});

describe("an application's own registry", () => {
  it('keeps its process metrics; a second server into it shares the websockify metrics', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const a = new EventEmitter();
    const b = new EventEmitter();
    collectServerMetrics(a, registry);
    collectServerMetrics(b, registry);
    a.emit('refused', { reason: 'token', status: 404, peer: 'x' });
    b.emit('refused', { reason: 'token', status: 404, peer: 'y' });
    const s = parseScrape(await registry.metrics(), registry.contentType);
    expect(outcomes(s)).toStrictEqual({ ...zeroOutcomes(), token: 2 });
    expect(s.samples.has('process_cpu_user_seconds_total')).toBe(true);
  });
});

describe('metrics over node:cluster workers', () => {
  it("the primary serves the sum of two workers' servers", async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const fixture = fileURLToPath(new URL('./fixtures/metrics-cluster.mjs', import.meta.url));
    const ports = [await unusedPort(), await unusedPort()];
    const child = spawn(process.execPath, [fixture, `127.0.0.1:${echo.port}`, ...ports.map(String)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    defer(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    await eventually(
      () => out.includes('\n'),
      () => `cluster up; stdout ${out}; stderr ${err}`,
      { ms: 20000 },
    );
    const { metrics, workers } = JSON.parse(out) as { metrics: number; workers: number[] };
    expect(workers).toStrictEqual(ports);
    const url = `http://127.0.0.1:${metrics}/metrics`;

    // Worker 1: two sessions and a refusal; worker 2: one session, held open, then closed.
    await echoSession(`ws://127.0.0.1:${ports[0]}/`, 100, 1000);
    await echoSession(`ws://127.0.0.1:${ports[0]}/`, 200, 1000);
    await rawExchange(ports[0]!, upgradeRequest('/').replace('Version: 13', 'Version: 99'));
    const held = await openClient(`ws://127.0.0.1:${ports[1]}/`, 'binary');
    defer(() => held.ws.terminate());
    held.ws.send(randomBytes(50));
    await held.waitForBytes(50);
    let s = await scrape(url);
    await eventually(async () => {
      s = await scrape(url);
      return s.samples.get('websockify_sessions_closed_total{code="1000"}') === 2;
    }, 'both workers counted');
    expect(s.samples.get('websockify_active_sessions')).toBe(1);
    expect(outcomes(s)).toStrictEqual({ ...zeroOutcomes(), proxied: 3, bad_handshake: 1 });
    expect(series(s, 'websockify_bytes_total')).toStrictEqual({
      '{direction="to_client"}': 350,
      '{direction="to_target"}': 350,
    });
    expect(s.samples.get('websockify_handshake_seconds_count')).toBe(3);
    // Process metrics of both workers, aggregated by prom-client's rules.
    expect(s.samples.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(s.samples.get(`websockify_build_info{version="${VERSION}"}`)).toBe(1);

    held.ws.close(1000);
    await eventually(async () => {
      s = await scrape(url);
      return s.samples.get('websockify_active_sessions') === 0;
    }, 'held session ended');
    expect(series(s, 'websockify_sessions_closed_total')).toStrictEqual({ '{code="1000"}': 3 });

    child.kill('SIGTERM');
    expect(await withTimeout(exited, 10000, 'cluster exit')).toBe(0);
  });
});

describe.each(WORKER_MODES)('websockify --metrics (%s)', (_mode, workers) => {
  it('serves the metrics on a loopback port of their own, counting real sessions and refusals', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const cli = await startCliForTest([...workers, '--metrics', '0', '127.0.0.1:0', `127.0.0.1:${echo.port}`]);
    const [, host, port] = await cli.waitForStderr(/^ {2}- Metrics on http:\/\/([\d.]+):(\d+)\/metrics\n/m);
    await cli.waitForStderr(/^ {2}- proxying from .*\n/m);
    expect(host).toBe('127.0.0.1');
    expect(Number(port)).not.toBe(cli.port);
    const url = `http://127.0.0.1:${port}/metrics`;

    // Two sessions open at once: with --workers 2 each worker has one (the primary hands a
    // connection to the least busy worker), so the scrape shows the sum over the workers.
    const held = await Promise.all([1, 2].map(() => openClient(`ws://127.0.0.1:${cli.port}/`, 'binary')));
    let s = await scrape(url);
    await eventually(async () => {
      s = await scrape(url);
      return s.samples.get('websockify_active_sessions') === 2;
    }, 'both sessions counted');
    for (const c of held) {
      c.ws.close(1000);
      await withTimeout(c.closed, 5000, 'close');
    }
    await echoSession(`ws://127.0.0.1:${cli.port}/`, 300, 1000);
    expect(await rawExchange(cli.port, upgradeRequest('/', ['Sec-WebSocket-Protocol: chat']))).toMatch(
      /^HTTP\/1\.1 400 /,
    );
    await eventually(async () => {
      s = await scrape(url);
      return s.samples.get('websockify_sessions_closed_total{code="1000"}') === 3;
    }, 'the sessions counted');
    expect(outcomes(s)).toStrictEqual({ ...zeroOutcomes(), proxied: 3, bad_handshake: 1 });
    expect(s.samples.get('websockify_active_sessions')).toBe(0);
    expect(series(s, 'websockify_refusals_total')).toStrictEqual({ '{reason="bad_handshake",status="400"}': 1 });
    expect(series(s, 'websockify_bytes_total')).toStrictEqual({
      '{direction="to_client"}': 300,
      '{direction="to_target"}': 300,
    });
    expect(s.samples.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // The public port does not serve them.
    const onPublic = await fetch(`http://127.0.0.1:${cli.port}/metrics`);
    expect(onPublic.status).toBe(405);
    expect(await onPublic.text()).not.toContain('websockify_');
  });
});

describe('websockify --metrics', () => {
  it('exits 2 naming --metrics for a bad value or the listen port; 1 when its port is taken', async () => {
    const cases: [string, string][] = [
      ['abc', "option --metrics: expected a port number (1-65535), got 'abc'"],
      ['70000', "option --metrics: expected a port number (1-65535), got '70000'"],
      ['127.0.0.1:x', "option --metrics: expected a port number (1-65535), got 'x'"],
      [':9100', "option --metrics: ':9100' has an empty address; give PORT alone for 127.0.0.1, or ADDR:PORT"],
      ['bad host:9100', "option --metrics: 'bad host' is not an address"],
      ['[nope]:9100', "option --metrics: '[nope]' is not an address"],
      ['6080', 'option --metrics: port 6080 is the listen port; metrics are served on a port of their own'],
    ];
    for (const [value, message] of cases) {
      const cli = runCli(['--metrics', value, '6080', '127.0.0.1:5900']);
      expect(await withTimeout(cli.exited, 20000, `exit for --metrics ${value}`)).toBe(2);
      expect(cli.stderr()).toContain(`websockify: error: ${message}\n`);
    }
    const taken = await echoTarget();
    defer(() => taken.close());
    const cli = runCli(['--metrics', String(taken.port), '127.0.0.1:0', '127.0.0.1:5900']);
    expect(await withTimeout(cli.exited, 20000, 'exit')).toBe(1);
    expect(cli.stderr()).toMatch(/Opening the metrics socket failed: EADDRINUSE/);
  });
});

describe('websockify-node/metrics', () => {
  /** Whether importing `specifier` (as an installed package resolves it) loads prom-client. */
  async function loadsPromClient(specifier: string): Promise<string> {
    const script =
      `import * as m from '${specifier}'; import { createRequire } from 'node:module';` +
      `const cache = Object.keys(createRequire(import.meta.url).cache);` +
      `console.log(typeof m.collectServerMetrics, cache.some((k) => k.includes('/prom-client/')));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    return stdout.trim();
  }

  it('is the package entry that loads prom-client; the main entry does not load it', async () => {
    expect(await loadsPromClient('websockify-node/metrics')).toBe('function true');
    expect(await loadsPromClient('websockify-node')).toBe('undefined false');
  });
});

describe('the Grafana dashboard', () => {
  const file = fileURLToPath(new URL('../contrib/grafana/websockify-dashboard.json', import.meta.url));

  it('is JSON, and every metric it queries is in a real scrape', async () => {
    const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(5);
    const { after } = await scenario();
    const names = new Set([...after.samples.keys()].map((k) => k.split('{')[0]!));
    const queried = new Set(exprs.flatMap((e) => e.match(/\b(?:websockify|process|nodejs)_[a-z_]+\b/g) ?? []));
    expect(queried.size).toBeGreaterThan(5);
    expect([...queried].filter((name) => !names.has(name))).toStrictEqual([]);
  });
});
