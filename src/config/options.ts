// The library's typed options and their one normalisation step: defaults, units and checks
// happen here, so the CLI and API callers hand the core a complete, valid configuration.

import type { AuthPlugin } from '../auth/auth-plugin.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { stdoutTraffic, type TrafficTap } from '../proxy/traffic.js';
import type { TargetResolver, TargetSpec } from '../targets/target.js';
import { parseTargetSpec } from './address.js';
import { ConfigError } from './errors.js';

export interface WebsockifyOptions {
  /** Listen address; `host` undefined means all interfaces. Port 0 picks a free port. */
  listen?: { host?: string; port: number };
  /** Resolve the listen host preferring IPv6 (`-6`): a bare port then listens on `::`. */
  preferIpv6?: boolean;
  /** Fixed target: `"host:port"`, `{ kind: 'tcp', host, port }` or `{ kind: 'unix', path }`. */
  target?: string | TargetSpec;
  /**
   * Chooses the target per request instead of a fixed one; `tokenResolver(plugin)` builds one
   * from a token plugin. Throw UpgradeRefused to refuse the upgrade with an HTTP status.
   */
  resolveTarget?: TargetResolver;
  /** Checks every upgrade after its target is chosen (an auth plugin, e.g. BasicHTTPAuth). */
  auth?: AuthPlugin;
  /** Exit after the first WebSocket session ends (`--run-once`). */
  runOnce?: boolean;
  /** Stop accepting this many seconds after start, then exit when sessions end (`--timeout`). */
  timeout?: number;
  /** Exit after this many seconds without any connection (`--idle-timeout`). */
  idleTimeout?: number;
  /** Ping clients every this many seconds; drop those answering none of two (`--heartbeat`). */
  heartbeat?: number;
  /** Largest WebSocket message accepted from a client, in bytes; larger ones close with 1009. */
  maxMessageSize?: number;
  /** Seconds a client has to send its complete HTTP request. */
  handshakeTimeout?: number;
  /** Largest total size of request headers, in bytes (431 beyond it). */
  maxHeaderSize?: number;
  /** Bytes buffered toward one side before the other side stops being read. */
  highWaterMark?: number;
  /** Seconds allowed for closing handshakes and final flushes, at shutdown and per session. */
  closeTimeout?: number;
  /** Write `--traffic` symbols to stdout, or to a custom tap. */
  traffic?: boolean | TrafficTap;
  logger?: Logger;
}

export interface ResolvedOptions {
  listen: { host: string | undefined; port: number };
  preferIpv6: boolean;
  resolveTarget: TargetResolver;
  /** Printable description of where connections go, for the banner. */
  targetDescription: TargetSpec | 'dynamic';
  runOnce: boolean;
  timeoutMs: number;
  idleTimeoutMs: number;
  heartbeatMs: number;
  maxMessageSize: number;
  handshakeTimeoutMs: number;
  maxHeaderSize: number;
  highWaterMark: number;
  closeTimeoutMs: number;
  traffic: TrafficTap | undefined;
  auth: AuthPlugin | undefined;
  logger: Logger;
}

export const DEFAULTS = {
  maxMessageSize: 16 * 1024 * 1024,
  handshakeTimeout: 10,
  maxHeaderSize: 16 * 1024,
  highWaterMark: 1024 * 1024,
  closeTimeout: 5,
} as const;

function seconds(value: number | undefined, name: string): number {
  if (value === undefined) return 0;
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigError(`${name} must be a non-negative number of seconds, got ${value}`, name);
  }
  return Math.round(value * 1000);
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive whole number, got ${value}`, name);
  }
  return value;
}

function normaliseTarget(target: string | TargetSpec): TargetSpec {
  if (typeof target !== 'string') return target;
  const { host, port } = parseTargetSpec(target);
  return { kind: 'tcp', host, port };
}

/** Applies defaults and checks every option; throws ConfigError naming the bad one. */
export function resolveOptions(options: WebsockifyOptions): ResolvedOptions {
  let resolveTarget: TargetResolver;
  let targetDescription: TargetSpec | 'dynamic';
  if (options.resolveTarget) {
    if (options.target !== undefined) {
      throw new ConfigError('give either target or resolveTarget, not both', 'target');
    }
    resolveTarget = options.resolveTarget;
    targetDescription = 'dynamic';
  } else if (options.target !== undefined) {
    const fixed = normaliseTarget(options.target);
    resolveTarget = () => fixed;
    targetDescription = fixed;
  } else {
    throw new ConfigError('a target is required (target or resolveTarget)', 'target');
  }
  const handshakeTimeoutMs = seconds(options.handshakeTimeout ?? DEFAULTS.handshakeTimeout, 'handshakeTimeout');
  if (handshakeTimeoutMs === 0) throw new ConfigError('handshakeTimeout must be above 0', 'handshakeTimeout');
  const closeTimeoutMs = seconds(options.closeTimeout ?? DEFAULTS.closeTimeout, 'closeTimeout');
  let traffic: TrafficTap | undefined;
  if (options.traffic === true) traffic = stdoutTraffic();
  else if (options.traffic) traffic = options.traffic;
  return {
    listen: { host: options.listen?.host, port: options.listen?.port ?? 0 },
    preferIpv6: options.preferIpv6 ?? false,
    resolveTarget,
    targetDescription,
    runOnce: options.runOnce ?? false,
    timeoutMs: seconds(options.timeout, 'timeout'),
    idleTimeoutMs: seconds(options.idleTimeout, 'idleTimeout'),
    heartbeatMs: seconds(options.heartbeat, 'heartbeat'),
    maxMessageSize: positiveInt(options.maxMessageSize, DEFAULTS.maxMessageSize, 'maxMessageSize'),
    handshakeTimeoutMs,
    maxHeaderSize: positiveInt(options.maxHeaderSize, DEFAULTS.maxHeaderSize, 'maxHeaderSize'),
    highWaterMark: positiveInt(options.highWaterMark, DEFAULTS.highWaterMark, 'highWaterMark'),
    closeTimeoutMs,
    traffic,
    auth: options.auth,
    logger: options.logger ?? silentLogger,
  };
}
