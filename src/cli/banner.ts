// The start-up banner, in the reference's shape ("WebSocket server settings:" and one
// "  - " line per setting), describing what is actually bound; and the --traffic legend, printed
// on stdout before the first symbol.

import type { ResolvedOptions } from '../config/options.js';
import { describeTarget } from '../targets/target.js';

/**
 * `listen` describes where the server listens (WebsockifyServer.describeListen()); `targetLabel`
 * overrides the target description (a wrapped program's command line); `daemonPid` adds the
 * reference's "Backgrounding (daemon)" line, with the PID (so that a log file has it);
 * `workers` above 1 adds a line for --workers.
 */
export function bannerLines(
  options: ResolvedOptions,
  listen: string,
  targetLabel?: string,
  daemonPid?: number,
  workers = 1,
): string[] {
  const described =
    options.targetDescription === 'dynamic'
      ? 'targets chosen per connection'
      : describeTarget(options.targetDescription);
  const target = (targetLabel ?? described) + (options.targetTls ? ' (using SSL)' : '');
  const lines = ['WebSocket server settings:', `  - Listen on ${listen}`];
  if (daemonPid !== undefined) lines.push(`  - Backgrounding (daemon, PID ${daemonPid})`);
  if (workers > 1) lines.push(`  - ${workers} worker processes (--workers)`);
  if (options.web !== undefined) {
    const kind = options.fileOnly ? 'Web server (no directory listings)' : 'Web server';
    lines.push(`  - ${kind}. Web root: ${options.web}`);
  }
  if (!options.tls) lines.push('  - No SSL/TLS support (no cert file)');
  else lines.push('  - SSL/TLS support', ...(options.tls.sslOnly ? ['  - Deny non-SSL/TLS connections'] : []));
  if (options.runOnce) lines.push('  - Exit after the first WebSocket connection (--run-once)');
  if (options.timeoutMs > 0) lines.push(`  - Stop accepting after ${options.timeoutMs / 1000} s (--timeout)`);
  if (options.idleTimeoutMs > 0) lines.push(`  - Exit after ${options.idleTimeoutMs / 1000} s without connections`);
  if (options.heartbeatMs > 0) lines.push(`  - Heartbeat ping every ${options.heartbeatMs / 1000} s`);
  if (!options.legacy) lines.push('  - Legacy clients refused (--no-legacy): RFC 6455 version 13 only');
  if (options.record !== undefined) lines.push(`  - Recording sessions to ${options.record}.N`);
  lines.push(`  - proxying from ${listen} to ${target}`);
  return lines;
}

/** What the --traffic symbols mean (traffic.ts writes them). */
export const TRAFFIC_LEGEND = [
  'Traffic legend:',
  '  }   a message received from the client',
  '  {   data received from the target',
  '  >   data sent to the target',
  '  .>  data sent to the target, whose buffer is now full (reading from the client pauses)',
  '  <   a message sent to the client',
  '  <.  a message sent to the client, whose buffer is now full (reading from the target pauses)',
  '',
].join('\n');
