// The Prometheus metrics of this process's websockify servers, in a prom-client registry (the
// default one unless told): collectServerMetrics() subscribes to a server's events (a
// WebsockifyServer or what attachWebsockify returns) and turns them into counters, a gauge and
// histograms. Nothing here runs per read: bytes come from the sessions' own counters, read at
// scrape time for live sessions and added up once at session end. Process metrics are
// prom-client's default ones. docs/metrics.md lists every metric.

import type { EventEmitter } from 'node:events';
import {
  Counter,
  Gauge,
  Histogram,
  collectDefaultMetrics,
  register as defaultRegistry,
  type Registry,
} from 'prom-client';
import type { SessionStats } from '../proxy/session.js';
import type { RefusalEvent, RefusalReason } from '../protocol/refusal-event.js';
import { VERSION } from '../version.js';
import { answerPrimaryScrapes } from './cluster-link.js';

/**
 * What collectServerMetrics listens to: a WebsockifyServer, what attachWebsockify returns, or any
 * emitter of their events (ProxyCoreEvents).
 */
export type ObservedServer = Pick<EventEmitter, 'on' | 'off'>;

/** The `outcome` label of websockify_connections_total: one per WebSocket upgrade attempt. */
export const OUTCOMES = [
  'proxied',
  'target_failed',
  'abandoned',
  'bad_handshake',
  'token',
  'auth',
  'origin',
  'limit',
  'draining',
  'fd_limit',
  'tls',
  'timeout',
] as const;

const refusalLabel = (reason: RefusalReason): string => reason.replace('-', '_');

/** Seconds: handshakes and target connects (a token lookup or a remote target may take long). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds: from a probe's instant session to a working day. */
const DURATION_BUCKETS = [0.1, 1, 10, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600];

/**
 * The `code` label of a close code: the registered codes as themselves, the application
 * ranges as `3xxx` and `4xxx` (a client picks those freely: one series per range, not per code).
 */
export function closeCodeLabel(code: number): string {
  if (code >= 1000 && code <= 1015) return String(code);
  if (code >= 3000 && code <= 3999) return '3xxx';
  if (code >= 4000 && code <= 4999) return '4xxx';
  return 'other';
}

/** The `code` label of a target connect error: a Node/OpenSSL error code, else `other`. */
function errorCodeLabel(error: string): string {
  return /^[A-Z][A-Z0-9_]{1,40}$/.test(error) ? error : 'other';
}

function connectResult(stats: SessionStats): 'connected' | 'timeout' | 'error' {
  if (stats.connectError === undefined) return 'connected';
  return stats.connectError === 'ETIMEDOUT' ? 'timeout' : 'error';
}

/** The metrics of one registry, shared by every server observed into it. */
class ServerMetrics {
  /** Sessions open now, in every observed server: their byte counters are read at scrape time. */
  readonly live = new Set<SessionStats>();
  /** Bytes of the sessions that have ended. */
  readonly ended = { toTarget: 0, toClient: 0 };
  readonly connections: Counter<'outcome'>;
  readonly refusals: Counter<'reason' | 'status'>;
  readonly handshake: Histogram;
  readonly connect: Histogram<'result'>;
  readonly connectErrors: Counter<'code'>;
  readonly duration: Histogram;
  readonly closeCodes: Counter<'code'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const { live, ended } = this;
    this.connections = new Counter({
      name: 'websockify_connections_total',
      help: 'Connections that tried to reach a session, by outcome: proxied, target_failed, abandoned, or why refused',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of OUTCOMES) this.connections.inc({ outcome }, 0);
    this.refusals = new Counter({
      name: 'websockify_refusals_total',
      help: 'Connections turned away before a session, by reason and HTTP status (0: closed without an answer)',
      labelNames: ['reason', 'status'],
      registers,
    });
    new Gauge({
      name: 'websockify_active_sessions',
      help: 'WebSocket sessions open now',
      registers,
      collect() {
        this.set(live.size);
      },
    });
    new Counter({
      name: 'websockify_bytes_total',
      help: 'Payload bytes proxied, by direction (to_target: from clients; to_client: from targets)',
      labelNames: ['direction'],
      registers,
      collect() {
        let { toTarget, toClient } = ended;
        for (const s of live) {
          toTarget += s.bytesToTarget;
          toClient += s.bytesToClient;
        }
        this.reset();
        this.inc({ direction: 'to_target' }, toTarget);
        this.inc({ direction: 'to_client' }, toClient);
      },
    });
    this.handshake = new Histogram({
      name: 'websockify_handshake_seconds',
      help: 'From an upgrade request to its session start: token lookup, auth and the 101',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.connect = new Histogram({
      name: 'websockify_target_connect_seconds',
      help: 'Connecting to the target, by result: connected, error or timeout',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.connectErrors = new Counter({
      name: 'websockify_target_connect_errors_total',
      help: 'Failed target connects by error code (ECONNREFUSED, ETIMEDOUT, TLS codes...)',
      labelNames: ['code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'websockify_session_duration_seconds',
      help: 'How long WebSocket sessions lasted',
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.closeCodes = new Counter({
      name: 'websockify_sessions_closed_total',
      help: 'Ended sessions by the close code the client saw or sent (3xxx, 4xxx: application codes)',
      labelNames: ['code'],
      registers,
    });
    new Gauge({
      name: 'websockify_build_info',
      help: 'Always 1; the version label is the running websockify-node',
      labelNames: ['version'],
      registers,
      aggregator: 'max',
    }).set({ version: VERSION }, 1);
    // Unless the application collects them into this registry already.
    if (!registry.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register: registry });
  }
}

const byRegistry = new WeakMap<Registry, ServerMetrics>();

function metricsOf(registry: Registry): ServerMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = new ServerMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}

/**
 * Counts `server`'s sessions and refusals into `registry` (default: prom-client's default
 * registry: in a node:cluster worker, the one it then reports to the primary's
 * AggregatorRegistry). The metrics, and prom-client's process metrics, are registered the
 * first time a registry is used; several servers may share it. Returns a function that stops
 * observing `server`.
 */
export function collectServerMetrics(server: ObservedServer, registry: Registry = defaultRegistry): () => void {
  const m = metricsOf(registry);
  if (registry === defaultRegistry) answerPrimaryScrapes();
  const mine = new Set<SessionStats>();
  const forget = (s: SessionStats): void => {
    if (!mine.delete(s)) return;
    m.live.delete(s);
    m.ended.toTarget += s.bytesToTarget;
    m.ended.toClient += s.bytesToClient;
  };
  const onUpgrade = (s: SessionStats): void => {
    mine.add(s);
    m.live.add(s);
    m.handshake.observe(s.handshakeMs / 1000);
  };
  const onTargetConnect = (s: SessionStats): void => {
    m.connect.observe({ result: connectResult(s) }, (s.connectMs ?? 0) / 1000);
    if (s.connectError === undefined) {
      m.connections.inc({ outcome: 'proxied' });
    } else {
      m.connections.inc({ outcome: 'target_failed' });
      m.connectErrors.inc({ code: errorCodeLabel(s.connectError) });
    }
  };
  const onSessionEnd = (s: SessionStats): void => {
    forget(s);
    if (s.connectMs === undefined) m.connections.inc({ outcome: 'abandoned' });
    m.duration.observe((s.durationMs ?? 0) / 1000);
    m.closeCodes.inc({ code: closeCodeLabel(s.closeCode) });
  };
  const onRefused = (r: RefusalEvent): void => {
    const reason = refusalLabel(r.reason);
    m.connections.inc({ outcome: reason });
    m.refusals.inc({ reason, status: String(r.status) });
  };
  server.on('upgrade', onUpgrade);
  server.on('target-connect', onTargetConnect);
  server.on('session-end', onSessionEnd);
  server.on('refused', onRefused);
  return () => {
    server.off('upgrade', onUpgrade);
    server.off('target-connect', onTargetConnect);
    server.off('session-end', onSessionEnd);
    server.off('refused', onRefused);
    for (const s of [...mine]) forget(s);
  };
}
