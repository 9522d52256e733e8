// The library's typed options and their one normalisation step: defaults (defaults.ts), units
// and checks (values.ts) happen here, so the CLI and API callers hand the core a complete,
// valid configuration. Errors name the library's keys (`heartbeat`, `tls.cert`), never a flag.

import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { SecureVersion } from 'node:tls';
import type { AuthPlugin } from '../auth/auth-plugin.js';
import { ConfigError, OptionDependencyError, optionProblem } from '../errors/config-error.js';
import type { Logger } from '../log/logger.js';
import type { TrafficTap } from '../proxy/traffic.js';
import type { TargetResolver, TargetSpec } from '../targets/target.js';
import type { TargetTls } from '../targets/tls-target.js';
import { parseTargetSpec } from './address.js';
import { DEFAULTS, silentLogger, stdoutTraffic } from './defaults.js';
import { missingNeed, OPTION_TABLE } from './option-table.js';
import { minTlsVersion } from './tls-versions.js';
import { addressRanges, bytes, CONNECTIONS, fileMode, milliseconds, type AddressRange } from './values.js';

/** TLS on the listen port (wss://, https://), next to plain ws:// and http:// unless `sslOnly`. */
export interface TlsServerOptions {
  /** PEM certificate chain file (`--cert`); it may hold the private key too. */
  cert: string;
  /** PEM private key file, when the key is not in `cert` (`--key`). */
  key?: string | undefined;
  /** Passphrase of an encrypted key (`--key-password`). */
  keyPassword?: string | undefined;
  /** Refuse connections that do not start a TLS handshake (`--ssl-only`). */
  sslOnly?: boolean | undefined;
  /** Lowest TLS version accepted (`--ssl-version`); default TLSv1.2. */
  minVersion?: SecureVersion | undefined;
  /** OpenSSL cipher list for TLS 1.2 and below (`--ssl-ciphers`). */
  ciphers?: string | undefined;
  /** Require a client certificate (`--verify-client`), checked against `cafile`. */
  verifyClient?: boolean | undefined;
  /** CA bundle for client certificates (`--cafile`); default: Node's root CA list. */
  cafile?: string | undefined;
  /** Seconds between checks of the files for changes (certificate rotation); 0: never. Default 1. */
  reloadInterval?: number | undefined;
}

/** The TLS settings after normalisation: absolute paths, defaults applied. */
export interface ResolvedTls {
  certFile: string;
  keyFile: string | undefined;
  keyPassword: string | undefined;
  sslOnly: boolean;
  minVersion: SecureVersion;
  ciphers: string | undefined;
  verifyClient: boolean;
  caFile: string | undefined;
  reloadIntervalMs: number;
}
/**
 * Where a standalone server listens, one of:
 * - `{ host?, port }`: a TCP address; `host` undefined means all interfaces, port 0 a free port.
 * - `{ path, mode? }`: a unix-domain stream socket created at `path` with permissions `mode`
 *   (default 0o600), set before any client can connect; removed when the server closes.
 * - `{ fd, name? }`: an inherited socket that is already listening, such as fd 0 from inetd or
 *   fd 3 from systemd; `name` says where it came from in logs ("inetd", "systemd").
 */
export type ListenOption =
  | { host?: string | undefined; port: number }
  | { path: string; mode?: number | undefined }
  | { fd: number; name?: string | undefined };

/** ListenOption after normalisation, tagged by kind. */
export type ListenSource =
  | { kind: 'tcp'; host: string | undefined; port: number }
  | { kind: 'unix'; path: string; mode: number }
  | { kind: 'fd'; fd: number; name: string | undefined };

/** The library's options. Each may be left out or set to undefined: both mean its default. */
export interface WebsockifyOptions {
  /** Where to listen (see ListenOption); default: a free TCP port on all interfaces. */
  listen?: ListenOption | undefined;
  /** Resolve the listen host preferring IPv6 (`-6`): a bare port then listens on `::`. */
  preferIpv6?: boolean | undefined;
  /** Fixed target: `"host:port"`, `{ kind: 'tcp', host, port }` or `{ kind: 'unix', path }`. */
  target?: string | TargetSpec | undefined;
  /**
   * Chooses the target per request instead of a fixed one; `tokenResolver(plugin)` builds one
   * from a token plugin. Throw UpgradeRefused to refuse the upgrade with an HTTP status.
   */
  resolveTarget?: TargetResolver | undefined;
  /** Checks every upgrade after its target is chosen (an auth plugin, e.g. BasicHTTPAuth). */
  auth?: AuthPlugin | undefined;
  /** Exit after the first WebSocket session ends (`--run-once`). */
  runOnce?: boolean | undefined;
  /** Stop accepting this many seconds after start, then exit when sessions end (`--timeout`). */
  timeout?: number | undefined;
  /** Exit after this many seconds without any connection (`--idle-timeout`). */
  idleTimeout?: number | undefined;
  /** Ping clients every this many seconds; drop those answering none of two (`--heartbeat`). */
  heartbeat?: number | undefined;
  /** Largest WebSocket message accepted from a client, in bytes; larger ones close with 1009. */
  maxMessageSize?: number | undefined;
  /** Largest frame payload sent to a client, in bytes (`--max-frame-size`, default 1 MiB). */
  maxFrameSize?: number | undefined;
  /** Seconds connecting to a target may take before the client gets 1011 (`--connect-timeout`, default 10; 0 none). */
  connectTimeout?: number | undefined;
  /** Seconds a client has to send its complete HTTP request. */
  handshakeTimeout?: number | undefined;
  /** Largest total size of request headers, in bytes (431 beyond it). */
  maxHeaderSize?: number | undefined;
  /** Bytes buffered toward one side before the other side stops being read. */
  highWaterMark?: number | undefined;
  /** Seconds allowed for closing handshakes and final flushes, at shutdown and per session. */
  closeTimeout?: number | undefined;
  /**
   * Serve static files from this directory on the same port (`--web`): GET and HEAD, with Range,
   * ETag and Last-Modified; `index.html` for directories, else a listing. A relative path is
   * resolved against the current directory once, here; the process does not chdir. Paths never
   * leave it: `..`, encoded separators and NUL are refused, symlinks leading out of it are not
   * followed, dotfiles are not served. Without it, GET and HEAD get 405.
   */
  web?: string | undefined;
  /** No directory listings (`--file-only`): a directory without an index file is 404. */
  fileOnly?: boolean | undefined;
  /** Run `auth` on GET and HEAD of the web server too (`--web-auth`); needs `auth` and `web`. */
  webAuth?: boolean | undefined;
  /** Write `--traffic` symbols to stdout, or to a custom tap. */
  traffic?: boolean | TrafficTap | undefined;
  /**
   * Record each WebSocket session to `<record>.<N>` in noVNC's playback format (`--record`).
   * A relative path is taken from the current directory at start; its directory must exist.
   */
  record?: string | undefined;
  /** Bytes of one recording that may wait for the disk before that recording is stopped. */
  recordQueueLimit?: number | undefined;
  /** Serve TLS on the listen port as well as plain connections (`--cert` and friends). */
  tls?: TlsServerOptions | undefined;
  /**
   * Connect to targets over TLS (`--ssl-target`): SNI and verification against Node's CA list;
   * `cafile` trusts a private CA as well (`--ssl-target-cafile`).
   */
  targetTls?: boolean | { cafile?: string | undefined } | undefined;
  /**
   * Every connection starts with a PROXY protocol header, v1 or v2 (`--proxy-protocol`); its
   * source is the client. With `trustedProxies`, a header from another peer is read and ignored.
   * A connection without a valid header is closed. See docs/scale-out.md.
   */
  proxyProtocol?: boolean | undefined;
  /**
   * Peers believed about the client (`--trusted-proxy`): IP addresses or CIDR ranges, a list or
   * one comma-separated string. Their X-Forwarded-For is read (the rightmost untrusted entry).
   */
  trustedProxies?: string | readonly string[] | undefined;
  /** Most WebSocket connections at once (`--max-connections`); more get 503. 0 or unset: no limit. */
  maxConnections?: number | undefined;
  /** Most WebSocket connections at once from one client address (`--max-connections-per-ip`). */
  maxConnectionsPerIp?: number | undefined;
  /** Seconds `drain()` lets sessions run when called without an argument (`--drain-seconds`; SIGTERM drains when above 0). */
  drainSeconds?: number | undefined;
  /**
   * Accept legacy clients (default true): Hixie-75/76 handshakes, Sec-WebSocket-Version 8
   * (hybi-08) and, on a standalone server, the Flash socket policy answer. false (`--no-legacy`):
   * RFC 6455 version 13 only, and `<policy-file-request/>` is treated as any other bad request.
   */
  legacy?: boolean | undefined;
  logger?: Logger | undefined;
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
  maxFrameSize: number;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  maxHeaderSize: number;
  highWaterMark: number;
  closeTimeoutMs: number;
  /** Absolute web root, checked to be a directory. */
  web: string | undefined;
  fileOnly: boolean;
  webAuth: boolean;
  traffic: TrafficTap | undefined;
  auth: AuthPlugin | undefined;
  /** Absolute base path of session recordings; undefined when not recording. */
  record: string | undefined;
  recordQueueLimit: number;
  tls: ResolvedTls | undefined;
  /** TLS toward targets; also carried on every resolved TargetSpec. */
  targetTls: TargetTls | undefined;
  legacy: boolean;
  proxyProtocol: boolean;
  /** Undefined: nobody's X-Forwarded-For is read, every PROXY header is believed. */
  trustedProxies: AddressRange[] | undefined;
  maxConnections: number;
  maxConnectionsPerIp: number;
  drainMs: number;
  logger: Logger;
}

function resolveTls(tls: TlsServerOptions): ResolvedTls {
  if (typeof tls.cert !== 'string' || tls.cert === '') {
    throw new ConfigError(
      (name) => `option ${name('tls.cert')} is required with tls`,
      'tls.cert',
      'ERR_OPTION_MISSING',
    );
  }
  const minVersion = minTlsVersion(tls.minVersion, 'tls.minVersion');
  return {
    certFile: path.resolve(tls.cert),
    keyFile: tls.key === undefined ? undefined : path.resolve(tls.key),
    keyPassword: tls.keyPassword,
    sslOnly: tls.sslOnly ?? false,
    minVersion,
    ciphers: tls.ciphers,
    verifyClient: tls.verifyClient ?? false,
    caFile: tls.cafile === undefined ? undefined : path.resolve(tls.cafile),
    reloadIntervalMs: milliseconds(tls.reloadInterval ?? DEFAULTS.tlsReloadInterval, 'tls.reloadInterval'),
  };
}

function resolveTargetTls(option: WebsockifyOptions['targetTls']): TargetTls | undefined {
  if (!option) return undefined;
  const cafile = option === true ? undefined : option.cafile;
  if (cafile === undefined) return {};
  try {
    return { ca: readFileSync(cafile, 'utf8'), caFile: path.resolve(cafile) };
  } catch (err) {
    throw optionProblem('targetTls.cafile', `cannot read the target CA file '${cafile}': ${(err as Error).message}`);
  }
}

/** Every resolved target carries the TLS settings, whoever chose it. */
function withTargetTls(resolve: TargetResolver, targetTls: TargetTls): TargetResolver {
  return async (req) => ({ ...(await resolve(req)), tls: targetTls });
}

/** The absolute recording base path; its directory must exist (checked once, at start). */
function recordPath(record: string | undefined): string | undefined {
  if (record === undefined) return undefined;
  if (record === '' || record.endsWith('/')) {
    throw optionProblem('record', `expected a file name (recordings go to FILE.N), got '${record}'`);
  }
  const base = path.resolve(record);
  const dir = path.dirname(base);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw optionProblem('record', `directory ${dir} does not exist`);
  return base;
}

function normaliseListen(listen: ListenOption | undefined): ListenSource {
  if (listen === undefined) return { kind: 'tcp', host: undefined, port: 0 };
  if ('path' in listen) {
    if (listen.path === '') throw optionProblem('listen.path', 'the path is empty');
    return { kind: 'unix', path: listen.path, mode: fileMode(listen.mode ?? DEFAULTS.unixSocketMode, 'listen.mode') };
  }
  if ('fd' in listen) {
    if (!Number.isSafeInteger(listen.fd) || listen.fd < 0) {
      throw optionProblem('listen.fd', `expected a file descriptor number, got ${listen.fd}`);
    }
    return { kind: 'fd', fd: listen.fd, name: listen.name };
  }
  if (!Number.isInteger(listen.port) || listen.port < 0 || listen.port > 65535) {
    throw optionProblem('listen.port', `expected a port number (0-65535), got ${listen.port}`);
  }
  return { kind: 'tcp', host: listen.host, port: listen.port };
}

function normaliseTarget(target: string | TargetSpec): TargetSpec {
  if (typeof target !== 'string') return target;
  const { host, port } = parseTargetSpec(target);
  return { kind: 'tcp', host, port };
}

/** Resolves the web root against the current directory; throws unless it is a directory. */
export function resolveWebRoot(dir: string): string {
  // path.resolve('') is the start directory: serving it (keys, tokens...) is never meant.
  if (dir === '') throw optionProblem('web', 'web root is empty (give a directory)');
  const root = path.resolve(dir);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch (err) {
    throw optionProblem('web', `web root ${root}: ${(err as NodeJS.ErrnoException).code ?? 'cannot be read'}`);
  }
  if (!isDirectory) throw optionProblem('web', `web root ${root} is not a directory`);
  return root;
}

/** The option table's `needs` rules between library options (webAuth needs auth and web). */
function checkNeeds(options: WebsockifyOptions): void {
  const given = (key: string): boolean => {
    const value = (options as Record<string, unknown>)[key];
    return value !== undefined && value !== false;
  };
  for (const row of OPTION_TABLE) {
    if (row.use !== 'option' || !given(row.key)) continue;
    const missing = missingNeed(row, given);
    if (missing !== undefined) throw new OptionDependencyError(row.key, missing);
  }
}

/** Applies defaults and checks every option; throws ConfigError naming the bad one. */
export function resolveOptions(options: WebsockifyOptions): ResolvedOptions {
  let resolveTarget: TargetResolver;
  let targetDescription: TargetSpec | 'dynamic';
  if (options.resolveTarget) {
    if (options.target !== undefined) {
      throw new ConfigError(
        (name) => `give either ${name('target')} or ${name('resolveTarget')}, not both`,
        'target',
        'ERR_OPTION_CONFLICT',
      );
    }
    resolveTarget = options.resolveTarget;
    targetDescription = 'dynamic';
  } else if (options.target !== undefined) {
    const fixed = normaliseTarget(options.target);
    resolveTarget = () => fixed;
    targetDescription = fixed;
  } else {
    throw new ConfigError(
      (name) => `a target is required (${name('target')} or ${name('resolveTarget')})`,
      'target',
      'ERR_OPTION_MISSING',
    );
  }
  checkNeeds(options);
  const handshakeTimeoutMs = milliseconds(options.handshakeTimeout ?? DEFAULTS.handshakeTimeout, 'handshakeTimeout');
  if (handshakeTimeoutMs === 0) throw optionProblem('handshakeTimeout', 'expected a number of seconds above 0, got 0');
  const closeTimeoutMs = milliseconds(options.closeTimeout ?? DEFAULTS.closeTimeout, 'closeTimeout');
  const targetTls = resolveTargetTls(options.targetTls);
  if (targetTls) {
    resolveTarget = withTargetTls(resolveTarget, targetTls);
    if (targetDescription !== 'dynamic') targetDescription = { ...targetDescription, tls: targetTls };
  }
  let traffic: TrafficTap | undefined;
  if (options.traffic === true) traffic = stdoutTraffic();
  else if (options.traffic) traffic = options.traffic;
  return {
    listen: normaliseListen(options.listen),
    preferIpv6: options.preferIpv6 ?? false,
    resolveTarget,
    targetDescription,
    runOnce: options.runOnce ?? false,
    timeoutMs: milliseconds(options.timeout, 'timeout'),
    idleTimeoutMs: milliseconds(options.idleTimeout, 'idleTimeout'),
    heartbeatMs: milliseconds(options.heartbeat, 'heartbeat'),
    maxMessageSize: bytes(options.maxMessageSize, DEFAULTS.maxMessageSize, 'maxMessageSize'),
    maxFrameSize: bytes(options.maxFrameSize, DEFAULTS.maxFrameSize, 'maxFrameSize'),
    connectTimeoutMs: milliseconds(options.connectTimeout ?? DEFAULTS.connectTimeout, 'connectTimeout'),
    handshakeTimeoutMs,
    maxHeaderSize: bytes(options.maxHeaderSize, DEFAULTS.maxHeaderSize, 'maxHeaderSize'),
    highWaterMark: bytes(options.highWaterMark, DEFAULTS.highWaterMark, 'highWaterMark'),
    closeTimeoutMs,
    web: options.web === undefined ? undefined : resolveWebRoot(options.web),
    fileOnly: options.fileOnly ?? false,
    webAuth: options.webAuth ?? false,
    traffic,
    auth: options.auth,
    record: recordPath(options.record),
    recordQueueLimit: bytes(options.recordQueueLimit, DEFAULTS.recordQueueLimit, 'recordQueueLimit'),
    tls: options.tls ? resolveTls(options.tls) : undefined,
    targetTls,
    legacy: options.legacy ?? true,
    proxyProtocol: options.proxyProtocol ?? false,
    trustedProxies:
      options.trustedProxies === undefined ? undefined : addressRanges(options.trustedProxies, 'trustedProxies'),
    maxConnections: CONNECTIONS.check(options.maxConnections, DEFAULTS.maxConnections, 'maxConnections'),
    maxConnectionsPerIp: CONNECTIONS.check(
      options.maxConnectionsPerIp,
      DEFAULTS.maxConnectionsPerIp,
      'maxConnectionsPerIp',
    ),
    drainMs: milliseconds(options.drainSeconds, 'drainSeconds'),
    logger: options.logger ?? silentLogger,
  };
}
