// Every command-line option of the Python reference (and ours), as one table: name, alias,
// type, help text, and for options whose feature is not built yet, which feature that is. The
// parser and --help are generated from it, so an option cannot be listed but silently ignored.

export interface CliOption {
  name: string;
  alias?: string;
  type: 'boolean' | 'string';
  metavar?: string;
  describe: string;
  group: string;
  /** Recognised for compatibility with the reference; has no effect here (says so at start). */
  compatOnly?: string;
  /**
   * Names a file, directory, socket, module or source: an empty value is refused (it would
   * mean the start directory, e.g. `--web ""` serving it).
   */
  path?: true;
}

const G_LISTEN = 'Listening and targets:';
const G_TLS = 'TLS:';
const G_WEB = 'Web server:';
const G_PLUGINS = 'Tokens and auth:';
const G_WRAP = 'Wrapping a program:';
const G_LOG = 'Logging and recording:';
const G_LIFE = 'Lifetime:';
const G_DEPLOY = 'Deployment:';

export const CLI_OPTIONS: readonly CliOption[] = [
  {
    name: 'prefer-ipv6',
    alias: '6',
    type: 'boolean',
    group: G_LISTEN,
    describe: 'prefer IPv6 when resolving the listen address (a bare port listens on dual-stack ::)',
  },
  {
    name: 'unix-target',
    type: 'string',
    path: true,
    metavar: 'FILE',
    group: G_LISTEN,
    describe: 'connect to a unix domain stream socket instead of a TCP target',
  },
  {
    name: 'ssl-target',
    type: 'boolean',
    group: G_LISTEN,
    describe: 'connect to the target with TLS (SNI, certificate verified against the CA list)',
  },
  {
    name: 'ssl-target-cafile',
    type: 'string',
    path: true,
    metavar: 'FILE',
    group: G_LISTEN,
    describe: 'with --ssl-target: also trust the CA certificates in FILE (not in the reference)',
  },
  {
    name: 'max-message-size',
    type: 'string',
    metavar: 'BYTES',
    group: G_LISTEN,
    describe: 'largest message accepted from a client; larger ones close with 1009 (default 16777216)',
  },
  {
    name: 'no-legacy',
    type: 'boolean',
    group: G_LISTEN,
    describe:
      'refuse legacy clients: Hixie-75/76 handshakes, Sec-WebSocket-Version 8, the Flash socket policy request (new)',
  },
  {
    name: 'max-frame-size',
    type: 'string',
    metavar: 'BYTES',
    group: G_LISTEN,
    describe: 'largest frame sent to a client: a larger read from the target is split (default 1048576)',
  },
  {
    name: 'connect-timeout',
    type: 'string',
    metavar: 'SECONDS',
    group: G_LISTEN,
    describe: 'give up connecting to the target after SECONDS and close the client with 1011 (default 10; 0: never)',
  },
  {
    name: 'libserver',
    type: 'boolean',
    group: G_LISTEN,
    describe: 'accepted for compatibility; this implementation has a single engine',
    compatOnly: 'this implementation has a single engine; --libserver has no effect',
  },

  {
    name: 'cert',
    type: 'string',
    path: true,
    metavar: 'CERT',
    group: G_TLS,
    describe: 'TLS certificate chain file, may include the key (default self.pem; TLS is off without it)',
  },
  {
    name: 'key',
    type: 'string',
    path: true,
    metavar: 'KEY',
    group: G_TLS,
    describe: 'TLS key file, if not in the certificate file',
  },
  {
    name: 'key-password',
    type: 'string',
    metavar: 'PASSWORD',
    group: G_TLS,
    describe: 'passphrase of the TLS key',
  },
  { name: 'ssl-only', type: 'boolean', group: G_TLS, describe: 'refuse connections that are not TLS' },
  { name: 'verify-client', type: 'boolean', group: G_TLS, describe: 'require a client certificate' },
  {
    name: 'cafile',
    type: 'string',
    path: true,
    metavar: 'FILE',
    group: G_TLS,
    describe: 'CA bundle for client certificates (with --verify-client)',
  },
  {
    name: 'ssl-version',
    type: 'string',
    metavar: 'VERSION',
    group: G_TLS,
    describe: 'minimum TLS version: default (TLS 1.2), tlsv1_1, tlsv1_2, tlsv1_3',
  },
  {
    name: 'ssl-ciphers',
    type: 'string',
    metavar: 'LIST',
    group: G_TLS,
    describe: 'OpenSSL cipher list (TLS 1.2 and below)',
  },

  {
    name: 'web',
    type: 'string',
    path: true,
    metavar: 'DIR',
    group: G_WEB,
    describe: 'serve static files from DIR on the same port',
  },
  { name: 'file-only', type: 'boolean', group: G_WEB, describe: 'no directory listings (404 instead)' },
  {
    name: 'web-auth',
    type: 'boolean',
    group: G_WEB,
    describe: 'run the auth plugin on web requests (GET, HEAD) too',
  },

  {
    name: 'token-plugin',
    type: 'string',
    path: true,
    metavar: 'CLASS',
    group: G_PLUGINS,
    describe: 'choose targets per connection with a token plugin (a built-in name or ./module.js)',
  },
  {
    name: 'token-source',
    type: 'string',
    path: true,
    metavar: 'ARG',
    group: G_PLUGINS,
    describe: 'argument of the token plugin',
  },
  {
    name: 'host-token',
    type: 'boolean',
    group: G_PLUGINS,
    describe: 'take the token from the Host header',
  },
  {
    name: 'target-config',
    type: 'string',
    path: true,
    metavar: 'FILE',
    group: G_PLUGINS,
    describe: 'deprecated: same as --token-plugin TokenFile --token-source FILE',
  },
  {
    name: 'auth-plugin',
    type: 'string',
    path: true,
    metavar: 'CLASS',
    group: G_PLUGINS,
    describe: 'authenticate connections with an auth plugin (a built-in name or ./module.js)',
  },
  {
    name: 'auth-source',
    type: 'string',
    metavar: 'ARG',
    group: G_PLUGINS,
    describe: 'argument of the auth plugin',
  },

  {
    name: 'wrap-mode',
    type: 'string',
    metavar: 'MODE',
    group: G_WRAP,
    describe: 'when the wrapped program exits: exit (default; websockify exits with its status), ignore, respawn',
  },
  {
    name: 'wrap-port',
    type: 'string',
    metavar: 'PORT',
    group: G_WRAP,
    describe:
      'the port the wrapped program binds, when it is not the listen port (required with --unix-listen, --inetd)',
  },

  {
    name: 'verbose',
    alias: 'v',
    type: 'boolean',
    group: G_LOG,
    describe: 'more detail: HTTP requests, encodings, socket errors',
  },
  { name: 'traffic', type: 'boolean', group: G_LOG, describe: 'per-frame traffic symbols on stdout' },
  {
    name: 'record',
    type: 'string',
    path: true,
    metavar: 'FILE',
    group: G_LOG,
    describe: 'record sessions to FILE.N (noVNC playback format; never overwrites a file)',
  },
  {
    name: 'log-file',
    type: 'string',
    path: true,
    metavar: 'FILE',
    group: G_LOG,
    describe: 'also log to FILE (appended to)',
  },
  {
    name: 'log-format',
    type: 'string',
    metavar: 'FORMAT',
    group: G_LOG,
    describe:
      'text (default: each line starts with an ISO 8601 UTC time) or json (one object per line: ' +
      'time, level, msg; connections add event, id, peer, path, target, bytes, duration, code)',
  },
  {
    name: 'syslog',
    type: 'string',
    path: true,
    metavar: 'SERVER',
    group: G_LOG,
    describe: 'also log to syslog: host:port (UDP) or a socket path such as /dev/log (RFC 5424 messages)',
  },
  {
    name: 'legacy-syslog',
    type: 'boolean',
    group: G_LOG,
    describe: 'with --syslog: the old RFC 3164 header <PRI>websockify[PID]:',
  },

  { name: 'run-once', type: 'boolean', group: G_LIFE, describe: 'exit after the first WebSocket connection ends' },
  {
    name: 'timeout',
    type: 'string',
    metavar: 'SECONDS',
    group: G_LIFE,
    describe: 'stop accepting after SECONDS, exit when connections end',
  },
  {
    name: 'idle-timeout',
    type: 'string',
    metavar: 'SECONDS',
    group: G_LIFE,
    describe: 'exit after SECONDS without connections',
  },
  {
    name: 'heartbeat',
    type: 'string',
    metavar: 'SECONDS',
    group: G_LIFE,
    describe: 'ping clients every SECONDS; drop those that answer none of two',
  },

  {
    name: 'daemon',
    alias: 'D',
    type: 'boolean',
    group: G_DEPLOY,
    describe: 'run in the background once listening (and the wrapped program started)',
  },
  {
    name: 'unix-listen',
    type: 'string',
    path: true,
    metavar: 'FILE',
    group: G_DEPLOY,
    describe: 'listen on a unix domain socket instead of a TCP port (no listen argument then)',
  },
  {
    name: 'unix-listen-mode',
    type: 'string',
    metavar: 'MODE',
    group: G_DEPLOY,
    describe: 'octal permissions of the --unix-listen socket (default 0600)',
  },
  {
    name: 'inetd',
    type: 'boolean',
    group: G_DEPLOY,
    describe: 'accept on the listening socket passed as fd 0 by inetd or systemd (no listen argument then)',
  },
  {
    name: 'workers',
    type: 'string',
    metavar: 'N',
    group: G_DEPLOY,
    describe: "proxy in N worker processes (default 1; 'auto': one per core); not in the reference",
  },
];
