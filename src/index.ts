// The library API: create a standalone websockify server, or attach the proxy to an existing
// http/https server. The `websockify` command is a thin layer over these.

export { WebsockifyServer, startWebsockify, type WebsockifyServerEvents } from './server/websockify-server.js';
export { clientAddress } from './protocol/client-address.js';
export { attachWebsockify, type AttachOptions, type AttachedWebsockify } from './server/attach.js';
export type { WebsockifyOptions, TlsServerOptions, ListenOption } from './config/options.js';
export { TlsSetupError } from './tls/credentials.js';
export { takeActivatedSocket, type ActivatedSocket } from './listen/systemd.js';
export { WebsockifyError, ERROR_CODES, type ErrorCode, type OptionNamer } from './errors/websockify-error.js';
export { ConfigError } from './errors/config-error.js';
export { UpgradeRefused, type RefusalDetails } from './errors/upgrade-refused.js';
export type { RefusalEvent, RefusalReason } from './protocol/refusal-event.js';
export type { ProxyCoreEvents } from './proxy/proxy.js';
export { tokenResolver, tokenFromRequest, type TokenResolverOptions } from './targets/token-resolver.js';
export { loadTokenPlugin, TOKEN_PLUGINS } from './targets/plugins/registry.js';
export {
  TokenLookupTimeout,
  type TokenPlugin,
  type TokenPluginFactory,
  type TokenLookupResult,
  type TokenRequest,
} from './targets/plugins/plugin.js';
export type { PluginContext, PluginFactory } from './config/plugin-loader.js';
export { loadAuthPlugin, AUTH_PLUGINS } from './auth/registry.js';
export { AuthenticationError, type AuthPlugin, type AuthPluginFactory, type AuthRequest } from './auth/auth-plugin.js';
export type { SessionStats } from './proxy/session.js';
export type { TargetSpec, TargetResolver } from './targets/target.js';
export {
  createLogger,
  stderrSink,
  type Logger,
  type LogSink,
  type ClosableSink,
  type LogLevel,
  type LogEntry,
  type LogFields,
  type TextSinkOptions,
} from './log/logger.js';
export type { LogFormat } from './log/log-format.js';
export { fileSink } from './log/file-sink.js';
export { syslogSink, parseSyslogServer, type SyslogDestination, type SyslogSinkOptions } from './log/syslog-sink.js';
export type { TrafficTap } from './proxy/traffic.js';
export { VERSION } from './version.js';
