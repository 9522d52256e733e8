// The library's typed options and their one normalisation step: defaults, units and checks
// happen here, so the CLI and API callers hand the core a complete, valid configuration.

import { silentLogger, type Logger } from '../log/logger.js';
import { stdoutTraffic, type TrafficTap } from '../proxy/traffic.js';
import type { TargetResolver, TargetSpec } from '../targets/target.js';
import { parseTargetSpec } from './address.js';
import { ConfigError } from './errors.js';

/**
 * Where a standalone server listens, one of:
 * - `{ host?, port }`: a TCP address; `host` undefined means all interfaces, port 0 a free port.
 * - `{ path, mode? }`: a unix-domain stream socket created at `path` with permissions `mode`
 *   (default 0o600), set before any client can connect; removed when the server closes.
 * - `{ fd, name? }`: an inherited socket that is already listening, such as fd 0 from inetd or
 *   fd 3 from systemd; `name` says where it came from in logs ("inetd", "systemd").
 */
export type ListenOption =
  { host?: string; port: number } | { path: string; mode?: number } | { fd: number; name?: string };

/** ListenOption after normalisation, tagged by kind. */
export type ListenSource =
  | { kind: 'tcp'; host: string | undefined; port: number }
  | { kind: 'unix'; path: string; mode: number }
  | { kind: 'fd'; fd: number; name: string | undefined };

export interface WebsockifyOptions {
  /** Where to listen (see ListenOption); default: a free TCP port on all interfaces. */
  listen?: ListenOption;
  /** Resolve the listen host preferring IPv6 (`-6`): a bare port then listens on `::`. */
  preferIpv6?: boolean;
  /** Fixed target: `"host:port"`, `{ kind: 'tcp', host, port }` or `{ kind: 'unix', path }`. */
  target?: string | TargetSpec;
  /** Chooses the target per request instead of a fixed one (token plugins build on this). */
  resolveTarget?: TargetResolver;
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
  listen: ListenSource;
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
  logger: Logger;
}

export const DEFAULTS = {
  maxMessageSize: 16 * 1024 * 1024,
  handshakeTimeout: 10,
  maxHeaderSize: 16 * 1024,
  highWaterMark: 1024 * 1024,
  closeTimeout: 5,
  unixSocketMode: 0o600,
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

function normaliseListen(listen: ListenOption | undefined): ListenSource {
  if (listen === undefined) return { kind: 'tcp', host: undefined, port: 0 };
  if ('path' in listen) {
    const mode = listen.mode ?? DEFAULTS.unixSocketMode;
    if (listen.path === '') throw new ConfigError('listen.path must not be empty', 'listen');
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new ConfigError(`listen.mode must be permission bits between 0 and 0o777, got ${mode}`, 'listen');
    }
    return { kind: 'unix', path: listen.path, mode };
  }
  if ('fd' in listen) {
    if (!Number.isSafeInteger(listen.fd) || listen.fd < 0) {
      throw new ConfigError(`listen.fd must be a file descriptor number, got ${listen.fd}`, 'listen');
    }
    return { kind: 'fd', fd: listen.fd, name: listen.name };
  }
  if (!Number.isInteger(listen.port) || listen.port < 0 || listen.port > 65535) {
    throw new ConfigError(`listen.port must be a port number (0-65535), got ${listen.port}`, 'listen');
  }
  return { kind: 'tcp', host: listen.host, port: listen.port };
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
    listen: normaliseListen(options.listen),
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
    logger: options.logger ?? silentLogger,
  };
}
