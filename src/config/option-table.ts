// Every command-line option, once: its flag, the key its value is known by (a library option
// such as `heartbeat` or `tls.cert`, or a setting of the command such as `logFile`), the kind of
// its value (values.ts), the options it needs, and its help, whose defaults come from DEFAULTS.
// The parser, --help, the man page, shell completion, prefix matching, the flag named in error
// messages and attachWebsockify's option type are all made from this table; a test checks that
// README's option table lists exactly these options. docs/adding-an-option.md says how to add one.

import type { LogFormat } from '../log/log-format.js';
import type { WrapMode } from '../wrap/supervisor.js';
import { DEFAULTS } from './defaults.js';
import { METRICS_ADDRESS, METRICS_DEFAULT_HOST } from './metrics-address.js';
import { TLS_VERSION } from './tls-versions.js';
import {
  BYTES,
  choice,
  CONNECTIONS,
  FLAG,
  OCTAL_MODE,
  OFF,
  PATH,
  PORT,
  SECONDS,
  TEXT,
  WORKER_COUNT,
  type ValueKind,
} from './values.js';

export interface OptionRow {
  /** The long flag without its dashes: `heartbeat` is `--heartbeat`. */
  readonly flag: string;
  /** A one-letter alias: `v` is `-v`. */
  readonly alias?: string;
  /**
   * The key the value is known by: in messages, in `needs`, and where it goes. A library key may
   * be a path into an option object (`tls.cert` is `options.tls.cert`).
   */
  readonly key: string;
  /**
   * Where the value goes: `option` copies it to WebsockifyOptions at `key`; `rule` means a
   * library option built by the parser from several flags or the positionals (listen, target,
   * targetTls); `command` is a setting of the command itself (logging, daemon, wrap, plugins).
   */
  readonly use: 'option' | 'rule' | 'command';
  /** How the value is read (FLAG for an option without a value). */
  readonly value: ValueKind<unknown>;
  /** The placeholder in --help (`--web DIR`); default the value kind's. */
  readonly metavar?: string;
  readonly group: string;
  readonly help: string;
  /** Keys that must be given too; else the reference's "You must use --X to use --Y". */
  readonly needs?: readonly string[];
  /** A command setting that becomes this library key (`authPlugin` becomes `auth`). */
  readonly provides?: string;
  /** Meaningless for a server attached to an application's (not in AttachOptions). */
  readonly standaloneOnly?: true;
  /** Recognised for compatibility with the reference; has no effect (says so at start). */
  readonly compatOnly?: string;
}

const G_LISTEN = 'Listening and targets:';
const G_TLS = 'TLS:';
const G_WEB = 'Web server:';
const G_PLUGINS = 'Tokens and auth:';
const G_WRAP = 'Wrapping a program:';
const G_LOG = 'Logging and recording:';
const G_LIFE = 'Lifetime:';
const G_DEPLOY = 'Deployment:';
const G_OTHER = 'Other:';

const MODE_TEXT = `0${DEFAULTS.unixSocketMode.toString(8)}`;

export const OPTION_TABLE = [
  {
    flag: 'prefer-ipv6',
    alias: '6',
    key: 'preferIpv6',
    use: 'option',
    value: FLAG,
    standaloneOnly: true,
    group: G_LISTEN,
    help: 'prefer IPv6 when resolving the listen address (a bare port listens on dual-stack ::)',
  },
  {
    flag: 'unix-target',
    key: 'target.path',
    use: 'rule',
    value: PATH,
    metavar: 'FILE',
    group: G_LISTEN,
    help: 'connect to a unix domain stream socket instead of a TCP target',
  },
  {
    flag: 'ssl-target',
    key: 'targetTls',
    use: 'rule',
    value: FLAG,
    group: G_LISTEN,
    help: 'connect to the target with TLS (SNI, certificate verified against the CA list)',
  },
  {
    flag: 'ssl-target-cafile',
    key: 'targetTls.cafile',
    use: 'rule',
    value: PATH,
    metavar: 'FILE',
    needs: ['targetTls'],
    group: G_LISTEN,
    help: 'with --ssl-target: also trust the CA certificates in FILE (not in the reference)',
  },
  {
    flag: 'max-message-size',
    key: 'maxMessageSize',
    use: 'option',
    value: BYTES,
    group: G_LISTEN,
    help: `largest message accepted from a client; larger ones close with 1009 (default ${DEFAULTS.maxMessageSize})`,
  },
  {
    flag: 'no-legacy',
    key: 'legacy',
    use: 'option',
    value: OFF,
    group: G_LISTEN,
    help: 'refuse legacy clients: Hixie-75/76 handshakes, Sec-WebSocket-Version 8, the Flash socket policy request (new)',
  },
  {
    flag: 'max-frame-size',
    key: 'maxFrameSize',
    use: 'option',
    value: BYTES,
    group: G_LISTEN,
    help: `largest frame sent to a client: a larger read from the target is split (default ${DEFAULTS.maxFrameSize})`,
  },
  {
    flag: 'connect-timeout',
    key: 'connectTimeout',
    use: 'option',
    value: SECONDS,
    group: G_LISTEN,
    help: `give up connecting to the target after SECONDS and close the client with 1011 (default ${DEFAULTS.connectTimeout}; 0: never)`,
  },
  {
    flag: 'libserver',
    key: 'libserver',
    use: 'command',
    value: FLAG,
    group: G_LISTEN,
    help: 'accepted for compatibility; this implementation has a single engine',
    compatOnly: 'this implementation has a single engine; --libserver has no effect',
  },

  {
    flag: 'cert',
    key: 'tls.cert',
    use: 'option',
    value: PATH,
    metavar: 'CERT',
    standaloneOnly: true,
    group: G_TLS,
    help: `TLS certificate chain file, may include the key (default ${DEFAULTS.cert}; TLS is off without it)`,
  },
  {
    flag: 'key',
    key: 'tls.key',
    use: 'option',
    value: PATH,
    metavar: 'KEY',
    standaloneOnly: true,
    group: G_TLS,
    help: 'TLS key file, if not in the certificate file',
  },
  {
    flag: 'key-password',
    key: 'tls.keyPassword',
    use: 'option',
    value: TEXT,
    metavar: 'PASSWORD',
    standaloneOnly: true,
    group: G_TLS,
    help: 'passphrase of the TLS key',
  },
  {
    flag: 'ssl-only',
    key: 'tls.sslOnly',
    use: 'option',
    value: FLAG,
    standaloneOnly: true,
    group: G_TLS,
    help: 'refuse connections that are not TLS',
  },
  {
    flag: 'verify-client',
    key: 'tls.verifyClient',
    use: 'option',
    value: FLAG,
    standaloneOnly: true,
    group: G_TLS,
    help: 'require a client certificate',
  },
  {
    flag: 'cafile',
    key: 'tls.cafile',
    use: 'option',
    value: PATH,
    metavar: 'FILE',
    standaloneOnly: true,
    group: G_TLS,
    help: 'CA bundle for client certificates (with --verify-client)',
  },
  {
    flag: 'ssl-version',
    key: 'tls.minVersion',
    use: 'option',
    value: TLS_VERSION,
    standaloneOnly: true,
    group: G_TLS,
    help: 'minimum TLS version: default (TLS 1.2), tlsv1_1, tlsv1_2, tlsv1_3',
  },
  {
    flag: 'ssl-ciphers',
    key: 'tls.ciphers',
    use: 'option',
    value: TEXT,
    metavar: 'LIST',
    standaloneOnly: true,
    group: G_TLS,
    help: 'OpenSSL cipher list (TLS 1.2 and below)',
  },

  {
    flag: 'web',
    key: 'web',
    use: 'option',
    value: PATH,
    metavar: 'DIR',
    standaloneOnly: true,
    group: G_WEB,
    help: 'serve static files from DIR on the same port',
  },
  {
    flag: 'file-only',
    key: 'fileOnly',
    use: 'option',
    value: FLAG,
    standaloneOnly: true,
    group: G_WEB,
    help: 'no directory listings (404 instead)',
  },
  {
    flag: 'web-auth',
    key: 'webAuth',
    use: 'option',
    value: FLAG,
    needs: ['auth', 'web'],
    standaloneOnly: true,
    group: G_WEB,
    help: 'run the auth plugin on web requests (GET, HEAD) too',
  },

  {
    flag: 'token-plugin',
    key: 'tokenPlugin',
    use: 'command',
    value: PATH,
    metavar: 'CLASS',
    provides: 'resolveTarget',
    group: G_PLUGINS,
    help: 'choose targets per connection with a token plugin (a built-in name or ./module.js)',
  },
  {
    flag: 'token-source',
    key: 'tokenSource',
    use: 'command',
    value: PATH,
    metavar: 'ARG',
    needs: ['resolveTarget'],
    group: G_PLUGINS,
    help: 'argument of the token plugin',
  },
  {
    flag: 'host-token',
    key: 'hostToken',
    use: 'command',
    value: FLAG,
    needs: ['resolveTarget'],
    group: G_PLUGINS,
    help: 'take the token from the Host header',
  },
  {
    flag: 'target-config',
    key: 'targetConfig',
    use: 'command',
    value: PATH,
    metavar: 'FILE',
    provides: 'resolveTarget',
    group: G_PLUGINS,
    help: 'deprecated: same as --token-plugin TokenFile --token-source FILE',
  },
  {
    flag: 'auth-plugin',
    key: 'authPlugin',
    use: 'command',
    value: PATH,
    metavar: 'CLASS',
    provides: 'auth',
    group: G_PLUGINS,
    help: 'authenticate connections with an auth plugin (a built-in name or ./module.js)',
  },
  {
    flag: 'auth-source',
    key: 'authSource',
    use: 'command',
    value: TEXT,
    metavar: 'ARG',
    needs: ['auth'],
    group: G_PLUGINS,
    help: 'argument of the auth plugin',
  },

  {
    flag: 'wrap-mode',
    key: 'wrapMode',
    use: 'command',
    value: choice<WrapMode>(['exit', 'ignore', 'respawn']),
    metavar: 'MODE',
    group: G_WRAP,
    help: `when the wrapped program exits: exit (websockify exits with its status), ignore, respawn (default ${DEFAULTS.wrapMode})`,
  },
  {
    flag: 'wrap-port',
    key: 'wrapPort',
    use: 'command',
    value: PORT,
    group: G_WRAP,
    help: 'the port the wrapped program binds, when it is not the listen port (required with --unix-listen, --inetd)',
  },

  {
    flag: 'verbose',
    alias: 'v',
    key: 'verbose',
    use: 'command',
    value: FLAG,
    group: G_LOG,
    help: 'more detail: HTTP requests, encodings, socket errors',
  },
  {
    flag: 'traffic',
    key: 'traffic',
    use: 'option',
    value: FLAG,
    group: G_LOG,
    help: 'per-frame traffic symbols on stdout',
  },
  {
    flag: 'record',
    key: 'record',
    use: 'option',
    value: PATH,
    metavar: 'FILE',
    group: G_LOG,
    help: 'record sessions to FILE.N (noVNC playback format; never overwrites a file)',
  },
  {
    flag: 'log-file',
    key: 'logFile',
    use: 'command',
    value: PATH,
    metavar: 'FILE',
    group: G_LOG,
    help: 'also log to FILE (appended to)',
  },
  {
    flag: 'log-format',
    key: 'logFormat',
    use: 'command',
    value: choice<LogFormat>(['text', 'json']),
    metavar: 'FORMAT',
    group: G_LOG,
    help:
      `text (default ${DEFAULTS.logFormat}: each line starts with an ISO 8601 UTC time) or json (one object per line: ` +
      'time, level, msg; connections add event, id, peer, path, target, bytes, duration, code)',
  },
  {
    flag: 'syslog',
    key: 'syslog',
    use: 'command',
    value: PATH,
    metavar: 'SERVER',
    group: G_LOG,
    help: 'also log to syslog: host:port (UDP) or a socket path such as /dev/log (RFC 5424 messages)',
  },
  {
    flag: 'legacy-syslog',
    key: 'legacySyslog',
    use: 'command',
    value: FLAG,
    needs: ['syslog'],
    group: G_LOG,
    help: 'with --syslog: the old RFC 3164 header <PRI>websockify[PID]:',
  },

  {
    flag: 'run-once',
    key: 'runOnce',
    use: 'option',
    value: FLAG,
    standaloneOnly: true,
    group: G_LIFE,
    help: 'exit after the first WebSocket connection ends',
  },
  {
    flag: 'timeout',
    key: 'timeout',
    use: 'option',
    value: SECONDS,
    standaloneOnly: true,
    group: G_LIFE,
    help: 'stop accepting after SECONDS, exit when connections end',
  },
  {
    flag: 'idle-timeout',
    key: 'idleTimeout',
    use: 'option',
    value: SECONDS,
    standaloneOnly: true,
    group: G_LIFE,
    help: 'exit after SECONDS without connections',
  },
  {
    flag: 'heartbeat',
    key: 'heartbeat',
    use: 'option',
    value: SECONDS,
    group: G_LIFE,
    help: 'ping clients every SECONDS; drop those that answer none of two',
  },

  {
    flag: 'daemon',
    alias: 'D',
    key: 'daemon',
    use: 'command',
    value: FLAG,
    group: G_DEPLOY,
    help: 'run in the background once listening (and the wrapped program started)',
  },
  {
    flag: 'unix-listen',
    key: 'listen.path',
    use: 'rule',
    value: PATH,
    metavar: 'FILE',
    standaloneOnly: true,
    group: G_DEPLOY,
    help: 'listen on a unix domain socket instead of a TCP port (no listen argument then)',
  },
  {
    flag: 'unix-listen-mode',
    key: 'listen.mode',
    use: 'rule',
    value: OCTAL_MODE,
    needs: ['listen.path'],
    standaloneOnly: true,
    group: G_DEPLOY,
    help: `octal permissions of the --unix-listen socket (default ${MODE_TEXT})`,
  },
  {
    flag: 'inetd',
    key: 'listen.fd',
    use: 'rule',
    value: FLAG,
    standaloneOnly: true,
    group: G_DEPLOY,
    help: 'accept on the listening socket passed as fd 0 by inetd or systemd (no listen argument then)',
  },
  // Behind a load balancer (docs/scale-out.md).
  {
    flag: 'proxy-protocol',
    key: 'proxyProtocol',
    use: 'option',
    value: FLAG,
    standaloneOnly: true,
    group: G_DEPLOY,
    help: 'every connection starts with a PROXY protocol v1 or v2 header naming the client (new)',
  },
  {
    flag: 'trusted-proxy',
    key: 'trustedProxies',
    use: 'option',
    value: TEXT,
    metavar: 'CIDR,...',
    standaloneOnly: true,
    group: G_DEPLOY,
    help: 'believe X-Forwarded-For and PROXY headers only from these addresses or ranges (new)',
  },
  {
    flag: 'max-connections',
    key: 'maxConnections',
    use: 'option',
    value: CONNECTIONS,
    standaloneOnly: true,
    group: G_DEPLOY,
    help: `at most N WebSocket connections at once; more get 503 with Retry-After (new; default ${DEFAULTS.maxConnections}, no limit)`,
  },
  {
    flag: 'max-connections-per-ip',
    key: 'maxConnectionsPerIp',
    use: 'option',
    value: CONNECTIONS,
    standaloneOnly: true,
    group: G_DEPLOY,
    help: `at most N WebSocket connections at once from one client address (new; default ${DEFAULTS.maxConnectionsPerIp}, no limit)`,
  },
  {
    flag: 'drain-seconds',
    key: 'drainSeconds',
    use: 'option',
    value: SECONDS,
    standaloneOnly: true,
    group: G_DEPLOY,
    help: 'on SIGTERM fail /healthz and refuse new connections, give open sessions SECONDS, then 1001 (new)',
  },

  {
    flag: 'metrics',
    key: 'metrics',
    use: 'command',
    value: METRICS_ADDRESS,
    group: G_DEPLOY,
    help: `serve Prometheus metrics on a port of their own (never the listen port); ADDR default ${METRICS_DEFAULT_HOST} (new)`,
  },
  {
    flag: 'workers',
    key: 'workers',
    use: 'command',
    value: WORKER_COUNT,
    group: G_DEPLOY,
    help: `proxy in N worker processes behind one primary (default ${DEFAULTS.workers}; 'auto': one per core) (new)`,
  },

  {
    flag: 'help',
    alias: 'h',
    key: 'help',
    use: 'command',
    value: FLAG,
    group: G_OTHER,
    help: 'show this help and exit',
  },
  {
    flag: 'version',
    key: 'version',
    use: 'command',
    value: FLAG,
    group: G_OTHER,
    help: 'show the version and exit',
  },
] as const satisfies readonly OptionRow[];

type Row = (typeof OPTION_TABLE)[number];

/** The keys of the table's rows. */
export type OptionKey = Row['key'];

/** What the command line gave, by key: each row's value as its kind reads it. */
export type Settings = {
  -readonly [R in Row as R['key']]?: R['value'] extends ValueKind<infer T> ? T : never;
};

/** The first part of a key path: `tls` for `tls.cert`. */
type TopKey<K extends string> = K extends `${infer Top}.${string}` ? Top : K;

/** Library options that mean nothing for an attached server: their rows say `standaloneOnly`. */
export type StandaloneOnlyKey = TopKey<Extract<Row, { standaloneOnly: true }>['key']>;

/** The row of a flag or alias (`heartbeat`, `v`), if there is one. */
export function rowOfFlag(flag: string): OptionRow | undefined {
  return OPTION_TABLE.find((o: OptionRow) => o.flag === flag || o.alias === flag);
}

/** The first row with this key, or that provides it (`auth` is --auth-plugin's). */
export function rowOfKey(key: string): OptionRow | undefined {
  return OPTION_TABLE.find((o: OptionRow) => o.key === key) ?? OPTION_TABLE.find((o: OptionRow) => o.provides === key);
}

/** The placeholder of a row's value in help: `DIR`; empty for a flag. */
export function metavarOf(row: OptionRow): string {
  return row.value.takesValue ? (row.metavar ?? row.value.metavar) : '';
}

/**
 * The first key in `row.needs` that is not given, if any; `given(key)` says whether a key has
 * a value. The command line and resolveOptions() both check the table's rules with this.
 */
export function missingNeed(row: OptionRow, given: (key: string) => boolean): string | undefined {
  return row.needs?.find((key) => !given(key));
}
