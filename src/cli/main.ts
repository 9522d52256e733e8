// The `websockify` command: parse the command line, start the server (and the wrapped program),
// print the banner, and turn signals, the program's exit and lifetime rules into an exit
// status (SIGTERM and SIGINT stop; SIGHUP reloads: the log file is reopened, certificates and
// token files read again, sessions kept); with -D, do that in a daemon (daemon.ts). All
// behaviour lives in the library and in wrap/.

import type net from 'node:net';
import { WorkerStartError } from '../cluster/start-error.js';
import type { MetricsAddress } from '../config/metrics-address.js';
import { ConfigError } from '../errors/config-error.js';
import { WebsockifyError } from '../errors/websockify-error.js';
import type { ResolvedOptions } from '../config/options.js';
import type { LogFormat } from '../log/log-format.js';
import { createLogger, stderrSink, type LogSink, type Logger } from '../log/logger.js';
import type { ServedMetrics } from '../metrics/serve.js';
import type { ObservedServer } from '../metrics/server-metrics.js';
import { takeActivatedSocket } from '../listen/systemd.js';
import { VERSION } from '../version.js';
import { WrapCommandError } from '../wrap/command.js';
import { pickFreeLoopbackPort } from '../wrap/free-port.js';
import { locateRebindLibrary } from '../wrap/rebind-library.js';
import { WrapSupervisor } from '../wrap/supervisor.js';
import { bannerLines, TRAFFIC_LEGEND } from './banner.js';
import { buildServer, type RunConfig } from './build-server.js';
import { runCompletion } from './completion.js';
import { openLogSinks } from './log-sinks.js';
import { daemonChannel, startDaemon, type DaemonChannel } from './daemon.js';
import { parseCommandLine, type WrapSpec } from './parse.js';
import type { LoadedPlugins } from './plugins.js';
import { ListenError, startupFailure, usageFailure } from './startup-failure.js';
import { cliMessage } from './usage-error.js';

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type HandledSignal = keyof typeof SIGNAL_NUMBERS;

/** How long a client waits for a wrapped program that is starting or respawning. */
const WRAPPED_TARGET_WAIT_MS = 5000;

/** Closes a daemon's channel to the terminal (its start-up failed) once `status` is reported. */
async function closing(daemon: DaemonChannel | undefined, status: number): Promise<number> {
  await daemon?.close(false);
  return status;
}

interface Wrapped {
  supervisor: WrapSupervisor;
  movedPort: number;
}

/**
 * Prepares wrap mode before listening: finds rebind.so, picks the moved port, checks the command.
 * With --inetd our stdin is the listening socket: the program gets /dev/null instead.
 */
async function prepareWrap(spec: WrapSpec, stdinIsListener: boolean, logger: Logger): Promise<Wrapped> {
  const rebindLibrary = await locateRebindLibrary();
  const movedPort = await pickFreeLoopbackPort();
  const supervisor = new WrapSupervisor({
    command: spec.command,
    mode: spec.mode,
    programPort: spec.programPort,
    movedPort,
    rebindLibrary,
    logger,
    stdin: stdinIsListener ? 'ignore' : 'inherit',
  });
  return { supervisor, movedPort };
}

/** What the command runs: a WebsockifyServer, or with --workers N a ClusterPrimary. */
interface Served {
  readonly options: ResolvedOptions;
  listen(): Promise<net.AddressInfo | string>;
  describeListen(): string;
  reload(): void;
  /** --drain-seconds: fail /healthz, refuse new sessions, let open ones finish, then close. */
  drain(): Promise<void>;
  close(): Promise<void>;
  on(event: 'done', listener: (reason: string) => void): unknown;
}

interface Started {
  server: Served;
  wrapped: Wrapped | undefined;
  plugins: LoadedPlugins;
  /** --metrics' listener. */
  metrics: ServedMetrics | undefined;
}

/** An OS error as a message: `EADDRINUSE listen EADDRINUSE...` unless it starts with its code. */
function errnoMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code && !e.message.startsWith(e.code) ? `${e.code} ${e.message}` : e.message;
}

/**
 * --metrics: counts the server's events and serves them, or with --workers serves the sum of the
 * workers' counts (each worker counts its own); prom-client is loaded only here.
 */
async function startMetrics(
  address: MetricsAddress,
  server: ObservedServer | 'cluster',
  logger: Logger,
): Promise<ServedMetrics> {
  const { serveServerMetrics, serveClusterMetrics } = await import('../metrics/serve.js');
  try {
    return server === 'cluster'
      ? await serveClusterMetrics(address, logger)
      : await serveServerMetrics(server, address, logger);
  } catch (err) {
    throw new ListenError(`Opening the metrics socket failed: ${errnoMessage(err)}`);
  }
}

/** Where log lines go: every sink, and the terminal alone (usage errors). */
interface LogOutputs {
  sinks: readonly LogSink[];
  terminal: LogSink;
}

/** `daemonPid` is set when running as a daemon. */
async function start(config: RunConfig, logger: Logger, log: LogOutputs, daemonPid?: number): Promise<Started> {
  const { wrap } = config;
  const { listen } = config.options;
  const wrapped = wrap ? await prepareWrap(wrap, 'fd' in listen && listen.fd === 0, logger) : undefined;
  const target = wrapped
    ? { kind: 'loopback' as const, port: wrapped.movedPort, waitMs: WRAPPED_TARGET_WAIT_MS }
    : config.options.target;
  let server: Served;
  let plugins: LoadedPlugins;
  /** What --metrics counts: this process's server, or the workers' own. */
  let observed: ObservedServer | 'cluster';
  if (config.workers > 1) {
    ({ server, plugins } = (await import('./primary-server.js')).createPrimary(config, target, logger, log));
    observed = 'cluster';
  } else {
    const built = await buildServer(config, target, logger);
    ({ server, plugins } = built);
    observed = built.server;
  }
  for (const notice of config.notices) logger.warn(notice);
  try {
    await server.listen();
  } catch (err) {
    await plugins.close();
    if (err instanceof ConfigError || err instanceof WorkerStartError) throw err;
    throw new ListenError(`Opening socket failed: ${errnoMessage(err)}`);
  }
  let metrics: ServedMetrics | undefined;
  if (config.metrics) {
    try {
      metrics = await startMetrics(config.metrics, observed, logger);
    } catch (err) {
      await server.close();
      await plugins.close();
      throw err;
    }
  }
  const targetLabel = wrap
    ? `'${wrap.command.join(' ')}' (port ${wrap.programPort}, moved to ${wrapped!.movedPort})`
    : plugins.targetLabel;
  const banner = bannerLines(server.options, server.describeListen(), targetLabel, daemonPid, config.workers);
  // Before the last line ("proxying from"), which says that start-up is done.
  if (metrics) banner.splice(-1, 0, `  - Metrics on ${metrics.url}`);
  for (const line of banner) logger.info(line);
  if (config.options.traffic) process.stdout.write(TRAFFIC_LEGEND);
  if (wrapped) {
    try {
      await wrapped.supervisor.start();
    } catch (err) {
      await Promise.all([server.close(), metrics?.close()]);
      throw new WrapCommandError(`cannot start '${wrap!.command[0]}': ${(err as Error).message}`, 127);
    }
  }
  return { server, plugins, wrapped, metrics };
}

/** Runs the command with `args` (without node and script); resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  // A daemon's start-up messages go to the terminal command that started it, over a channel.
  const daemon = daemonChannel();
  const terminalIn = (format: LogFormat): LogSink => daemon?.sink(format) ?? stderrSink({ format });
  const terminal = terminalIn('text');
  if (await runCompletion(args)) return 0;
  let config;
  try {
    config = await parseCommandLine(args, { activated: takeActivatedSocket() });
  } catch (err) {
    if (err instanceof ConfigError) return closing(daemon, usageFailure(cliMessage(err), terminal));
    throw err;
  }
  if (config.kind === 'help') {
    process.stdout.write(config.text + '\n');
    return 0;
  }
  if (config.kind === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }

  if (config.daemon && !daemon) return startDaemon(args);

  // Signal handlers go in before anything starts, so no signal finds the default action.
  let onSignal: (signal: HandledSignal) => void;
  let startupSignal: HandledSignal | undefined;
  onSignal = (signal) => {
    if (signal === 'SIGHUP') return; // nothing to reload yet: everything is being read now
    if (startupSignal) process.exit(128 + SIGNAL_NUMBERS[signal]); // a second one during start-up
    startupSignal = signal;
  };
  for (const signal of Object.keys(SIGNAL_NUMBERS) as HandledSignal[]) process.on(signal, () => onSignal(signal));

  let logger: Logger;
  let logSinks;
  let started;
  const logTerminal = terminalIn(config.logging.format);
  try {
    logSinks = await openLogSinks(config.logging, logTerminal, daemon ? 'daemon' : 'user');
    logger = createLogger({ verbose: config.verbose, sinks: logSinks.sinks });
  } catch (err) {
    return closing(daemon, startupFailure(err, createLogger({ sinks: [logTerminal] }), terminal));
  }
  try {
    started = await start(config, logger, { sinks: logSinks.sinks, terminal }, daemon ? process.pid : undefined);
  } catch (err) {
    return closing(daemon, startupFailure(err, logger, terminal));
  }
  const { server, wrapped, plugins, metrics } = started;
  await daemon?.close(true);

  return new Promise<number>((resolve) => {
    let stopping = false;
    /**
     * Closes clients (after a drain when asked), stops the program; ends with its status in wrap
     * mode, else `status`.
     */
    const stop = async (status: number, drain = false): Promise<void> => {
      if (stopping) return;
      stopping = true;
      if (drain) await server.drain();
      const [, programStatus] = await Promise.all([server.close(), wrapped?.supervisor.stop()]);
      await Promise.all([plugins.close(), metrics?.close()]);
      resolve(wrapped && programStatus !== undefined && status === 0 ? programStatus : status);
    };
    const reload = async (): Promise<void> => {
      logger.info('SIGHUP received: reopening the log file, reading certificates and token files again');
      try {
        logSinks.reopen();
      } catch (err) {
        const message = err instanceof WebsockifyError ? cliMessage(err) : (err as Error).message;
        logger.error(`websockify: ${message} (still writing to the old file)`);
      }
      server.reload();
      await plugins.reload();
    };
    onSignal = (signal) => {
      if (signal === 'SIGHUP') {
        if (!stopping) void reload();
        return;
      }
      if (stopping) {
        logger.info(`${signal} again: exiting at once`);
        resolve(128 + SIGNAL_NUMBERS[signal]);
        return;
      }
      // --drain-seconds: SIGTERM (a load balancer's or Kubernetes' stop) drains first.
      if (signal === 'SIGTERM' && server.options.drainMs > 0) {
        logger.info(`${signal} received: draining for up to ${server.options.drainMs / 1000} s`);
        void stop(0, true);
        return;
      }
      logger.info(`${signal} received: closing connections`);
      void stop(0);
    };
    server.on('done', () => void stop(0));
    wrapped?.supervisor.on('exit', (status) => {
      if (stopping) return;
      stopping = true;
      void Promise.all([server.close(), metrics?.close()]).then(() => resolve(status));
    });
    if (startupSignal) onSignal(startupSignal);
  });
}
