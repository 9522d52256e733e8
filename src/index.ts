// The library API: create a standalone websockify server, or attach the proxy to an existing
// http/https server. The `websockify` command is a thin layer over these.

export { WebsockifyServer, startWebsockify } from './server/websockify-server.js';
export { attachWebsockify, type AttachOptions, type AttachedWebsockify } from './server/attach.js';
export type { WebsockifyOptions, ListenOption } from './config/options.js';
export { takeActivatedSocket, type ActivatedSocket } from './server/socket-activation.js';
export { ConfigError } from './config/errors.js';
export { UpgradeRefused } from './proxy/proxy.js';
export type { SessionStats } from './proxy/session.js';
export type { TargetSpec, TargetResolver } from './targets/target.js';
export { createLogger, type Logger, type LogSink, type LogLevel } from './log/logger.js';
export type { TrafficTap } from './proxy/traffic.js';
export { VERSION } from './version.js';
