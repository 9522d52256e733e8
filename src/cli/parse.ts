// Turns the command line into a CliConfig: yargs for the flags (generated from the option
// table), then the reference's positional rules and option-dependency checks. Every error is a
// UsageError (exit status 2).

import path from 'node:path';
import yargs, { type Argv } from 'yargs';
import { parseListenSpec, parsePort, parseTargetSpec, type HostPort } from '../config/address.js';
import { ConfigError } from '../config/errors.js';
import { resolveWebRoot, type ListenOption, type WebsockifyOptions } from '../config/options.js';
import { LOG_FORMATS, type LogFormat } from '../log/log-format.js';
import { parseSyslogServer, type SyslogDestination } from '../log/syslog-sink.js';
import type { ActivatedSocket } from '../server/socket-activation.js';
import type { TargetSpec } from '../targets/target.js';
import { WRAP_MODES, type WrapMode } from '../wrap/supervisor.js';
import { parseWorkerCount } from '../cluster/worker-count.js';
import { helpText, USAGE_FORMS } from './help-text.js';
import { expandOptionPrefixes } from './option-prefixes.js';
import { CLI_OPTIONS } from './options-table.js';
import { parseTlsFlags } from './tls-flags.js';
import { UsageError } from './usage-error.js';

export { UsageError };

export const USAGE = USAGE_FORMS.map((form) => `$0 ${form}`).join('\n');

export type CliConfig =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | {
      kind: 'run';
      options: WebsockifyOptions & { listen: ListenOption; target?: TargetSpec };
      /** Present in wrap mode (`PORT -- COMMAND`); the target is then the moved port. */
      wrap?: WrapSpec;
      verbose: boolean;
      logging: LogDestinations;
      /** -D: run in the background once started. */
      daemon: boolean;
      /** --workers: processes that run the proxy (1: this one does). */
      workers: number;
      /** Notices to print at start (compatibility-only options). */
      notices: string[];
      /** --token-plugin (or --target-config): the target is chosen per connection. */
      tokens?: CliConfigTokens;
      /** --auth-plugin. */
      auth?: PluginSpec;
    };

/** A plugin named on the command line, loaded at start (cli/plugins.ts). */
export interface PluginSpec {
  /** A built-in name (`TokenFile`) or a module path (`./plugin.js`). */
  name: string;
  source: string | undefined;
}

/** Where log lines go besides stderr (--log-file, --syslog, --legacy-syslog). */
export interface LogDestinations {
  /** Absolute path. */
  logFile?: string;
  /** --log-format: of stderr and the log file (syslog frames messages its own way). */
  format: LogFormat;
  syslog?: SyslogDestination;
  legacySyslog: boolean;
}

export interface WrapSpec {
  command: string[];
  mode: WrapMode;
  /** The port the program binds (REBIND_OLD_PORT): --wrap-port, else the listen port. */
  programPort: number;
}

/** What the command line is run with besides its arguments. */
export interface ParseContext {
  /** The socket systemd passed in (socket activation): then the listen argument is optional. */
  activated?: ActivatedSocket;
}

type Parsed = Record<string, unknown> & { _: (string | number)[]; '--'?: (string | number)[] };

const flag = (name: string): string => (name.length === 1 ? `-${name}` : `--${name}`);

/** Rewrites yargs' messages so they name flags as typed: "Unknown argument: bogus" -> "--bogus". */
function flagMessage(message: string): string {
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown) return `unknown option ${unknown[1]!.split(', ').map(flag).join(', ')}`;
  const missing = /^Not enough arguments following: (.*)$/.exec(message);
  if (missing) return `option ${flag(missing[1]!)} needs a value`;
  return message;
}

function buildParser(args: string[]): Argv {
  let parser = yargs(args)
    .scriptName('websockify')
    .usage(USAGE)
    .parserConfiguration({
      'populate--': true,
      'parse-positional-numbers': false,
      'parse-numbers': false,
      'boolean-negation': false,
      'duplicate-arguments-array': false,
      'strip-aliased': true,
      // Options are spelled as in --help only: no --logFile, and no camelCase in messages.
      'camel-case-expansion': false,
    })
    .strictOptions()
    .help(false)
    .version(false)
    .exitProcess(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((message, err) => {
      throw err instanceof UsageError
        ? err
        : new UsageError(flagMessage(message || err?.message || 'invalid arguments'));
    });
  for (const o of CLI_OPTIONS) {
    parser = parser.option(o.name, {
      type: o.type,
      describe: o.describe,
      group: o.group,
      requiresArg: o.type === 'string',
      ...(o.alias ? { alias: o.alias } : {}),
      ...(o.metavar ? { nargs: 1 } : {}),
    });
  }
  return parser
    .option('help', { alias: 'h', type: 'boolean', describe: 'show this help and exit', group: 'Other:' })
    .option('version', { type: 'boolean', describe: 'show the version and exit', group: 'Other:' });
}

function given(argv: Parsed, name: string): boolean {
  const v = argv[name];
  return v !== undefined && v !== false;
}

/** Option `name` as a positive whole number of bytes, if given. */
function byteCount(argv: Parsed, name: string): number | undefined {
  const v = argv[name];
  if (v === undefined) return undefined;
  const text = String(v);
  if (!/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`option --${name}: expected a positive number of bytes, got '${text}'`, `--${name}`);
  }
  return Number(text);
}

function seconds(argv: Parsed, name: string): number | undefined {
  const v = argv[name];
  if (v === undefined) return undefined;
  const text = String(v);
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new UsageError(`option --${name}: expected a number of seconds, got '${text}'`, `--${name}`);
  }
  return Number(text);
}

/** A library ConfigError about a flag's value, as a usage error naming the flag. */
export function namingFlag(flag: string, err: unknown): unknown {
  return err instanceof ConfigError ? new UsageError(`option ${flag}: ${err.message}`, flag) : err;
}

/** Option `name` checked by a library parser (which throws ConfigError), if given. */
function parsedOption<T>(argv: Parsed, name: string, parse: (text: string) => T): T | undefined {
  const v = argv[name];
  if (v === undefined) return undefined;
  try {
    return parse(String(v));
  } catch (err) {
    throw namingFlag(`--${name}`, err);
  }
}

/** The reference's option-dependency rules, with its messages. */
function checkDependencies(argv: Parsed): void {
  const rules: [string, string][] = [
    ['token-source', 'token-plugin'],
    ['host-token', 'token-plugin'],
    ['auth-source', 'auth-plugin'],
    ['web-auth', 'auth-plugin'],
    ['web-auth', 'web'],
    ['legacy-syslog', 'syslog'],
    ['unix-listen-mode', 'unix-listen'],
  ];
  for (const [option, needs] of rules) {
    const satisfied = given(argv, needs) || (needs === 'token-plugin' && given(argv, 'target-config'));
    if (given(argv, option) && !satisfied) {
      throw new UsageError(`You must use --${needs} to use --${option}`, `--${option}`);
    }
  }
}

function optionalString(argv: Parsed, name: string): string | undefined {
  return typeof argv[name] === 'string' ? argv[name] : undefined;
}

/**
 * --token-plugin/--token-source/--host-token, or the deprecated --target-config FILE, which
 * means TokenFile with FILE made absolute (both together are refused).
 */
function parseTokenOptions(argv: Parsed): CliConfigTokens | undefined {
  const hostToken = given(argv, 'host-token');
  const targetConfig = optionalString(argv, 'target-config');
  const plugin = optionalString(argv, 'token-plugin');
  if (targetConfig !== undefined) {
    if (plugin !== undefined) {
      throw new UsageError(
        '--target-config is a shorthand for --token-plugin TokenFile; give only one',
        '--target-config',
      );
    }
    return { name: 'TokenFile', source: path.resolve(targetConfig), hostToken };
  }
  return plugin === undefined ? undefined : { name: plugin, source: optionalString(argv, 'token-source'), hostToken };
}

type CliConfigTokens = PluginSpec & { hostToken: boolean };

/**
 * `targets` are the positionals after the listen argument; `listenPort` is the listen
 * argument's port, absent when websockify listens on a unix socket or an inherited one.
 */
function parseWrap(argv: Parsed, command: string[], targets: string[], listenPort: number | undefined): WrapSpec {
  if (targets.length > 0) {
    throw new UsageError(`Too many arguments: a wrapped program replaces the target ('${targets[0]}')`, 'target');
  }
  const mode = (argv['wrap-mode'] ?? 'exit') as string;
  if (!(WRAP_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`option --wrap-mode: expected exit, ignore or respawn, got '${mode}'`, '--wrap-mode');
  }
  const port = argv['wrap-port'];
  const programPort = port === undefined ? listenPort : parsePort(String(port), '--wrap-port');
  if (programPort === undefined) {
    throw new UsageError(
      'a wrapped program needs --wrap-port PORT (the port it binds) when websockify does not listen on a TCP port',
      '--wrap-port',
    );
  }
  if (programPort === 0) throw new UsageError('a wrapped program needs a fixed listen port, or --wrap-port', 'listen');
  return { command, mode: mode as WrapMode, programPort };
}

/** --unix-listen-mode: octal permission bits such as 660 or 0660 (the reference's format). */
function parseSocketMode(argv: Parsed): number | undefined {
  const v = argv['unix-listen-mode'];
  if (v === undefined) return undefined;
  const text = String(v);
  if (!/^0?[0-7]{1,3}$/.test(text)) {
    throw new UsageError(
      `option --unix-listen-mode: expected octal permissions such as 0600 or 660, got '${text}'`,
      '--unix-listen-mode',
    );
  }
  return parseInt(text, 8);
}

/**
 * The listen source and the positionals left for the target. --inetd and --unix-listen take
 * no listen argument (as in the reference); with a socket from systemd it is optional and not
 * bound (it may still name the wrapped program's port), so one command line works both ways.
 */
function parseListen(
  argv: Parsed,
  positionals: string[],
  targetCount: number,
  context: ParseContext,
  notices: string[],
): { listen: ListenOption; listenPort: number | undefined; targets: string[] } {
  const inetd = given(argv, 'inetd');
  const unixListen = argv['unix-listen'];
  if (inetd && unixListen !== undefined) {
    throw new UsageError('--inetd and --unix-listen cannot be used together', '--unix-listen');
  }
  if (inetd) return { listen: { fd: 0, name: 'inetd' }, listenPort: undefined, targets: positionals };
  if (typeof unixListen === 'string') {
    const mode = parseSocketMode(argv);
    const listen = mode === undefined ? { path: unixListen } : { path: unixListen, mode };
    return { listen, listenPort: undefined, targets: positionals };
  }
  const { activated } = context;
  if (activated && positionals.length <= targetCount) {
    return { listen: { fd: activated.fd, name: activated.name }, listenPort: undefined, targets: positionals };
  }
  if (positionals.length === 0) throw new UsageError('Too few arguments: the listen port is missing', 'listen');
  const spec: HostPort = parseListenSpec(positionals[0]!);
  const targets = positionals.slice(1);
  if (activated) {
    notices.push(`note: listening on the socket passed by systemd (fd ${activated.fd}), not on ${positionals[0]}`);
    return { listen: { fd: activated.fd, name: activated.name }, listenPort: spec.port, targets };
  }
  const listen = spec.host === undefined ? { port: spec.port } : { host: spec.host, port: spec.port };
  return { listen, listenPort: spec.port, targets };
}

/** Every long option, for prefix matching (`--verb` is `--verbose`). */
const LONG_OPTIONS = [
  ...CLI_OPTIONS.map((o) => ({ name: o.name, takesValue: o.type === 'string' })),
  { name: 'help', takesValue: false },
  { name: 'version', takesValue: false },
];

/** yargs reads `--flag=yes` on a boolean as false; refuse a value instead of ignoring it. */
function rejectValuedFlags(args: string[]): void {
  const end = args.indexOf('--');
  for (const arg of end === -1 ? args : args.slice(0, end)) {
    const m = /^--?([^=]+)=/.exec(arg);
    if (!m) continue;
    const option = CLI_OPTIONS.find((o) => o.name === m[1] || o.alias === m[1]);
    if (option?.type === 'boolean' || ['help', 'h', 'version'].includes(m[1]!)) {
      throw new UsageError(`option ${flag(m[1]!)} does not take a value`, flag(m[1]!));
    }
  }
}

/** `--web ""`, `--cert=`...: an option naming a path must not be empty. */
function rejectEmptyPaths(argv: Parsed): void {
  for (const o of CLI_OPTIONS) {
    if (o.path && argv[o.name] === '') {
      throw new UsageError(`option --${o.name}: the value is empty (expected ${o.metavar ?? 'a path'})`, `--${o.name}`);
    }
  }
}

function parseLogFormat(argv: Parsed): LogFormat {
  const text = String(argv['log-format'] ?? 'text');
  if ((LOG_FORMATS as readonly string[]).includes(text)) return text as LogFormat;
  throw new UsageError(`option --log-format: expected text or json, got '${text}'`, '--log-format');
}

/** Parses the arguments after the program name. Throws UsageError on any problem. */
export async function parseCommandLine(typed: string[], context: ParseContext = {}): Promise<CliConfig> {
  const args = expandOptionPrefixes(typed, LONG_OPTIONS);
  rejectValuedFlags(args);
  const parser = buildParser(args);
  const argv = (await parser.parseAsync()) as Parsed;
  if (argv.help) return { kind: 'help', text: helpText(process.stdout.columns || 100) };
  if (argv.version) return { kind: 'version' };

  rejectEmptyPaths(argv);
  checkDependencies(argv);
  const positionals = argv._.map(String);
  const wrapCommand = argv['--']?.map(String);
  const wrap = wrapCommand !== undefined && wrapCommand.length > 0;
  if (!wrap && args.includes('--')) throw new UsageError('no command given after --', '--');

  const notices = CLI_OPTIONS.filter((o) => o.compatOnly && given(argv, o.name)).map((o) => `note: ${o.compatOnly}`);
  const tokens = parseTokenOptions(argv);
  // A wrapped program, --unix-target or a token plugin replaces the target argument.
  const targetCount = wrap || tokens || given(argv, 'unix-target') ? 0 : 1;
  const { listen, listenPort, targets } = parseListen(argv, positionals, targetCount, context, notices);
  const daemon = given(argv, 'daemon');
  if (daemon && 'fd' in listen) {
    throw new UsageError(
      listen.fd === 0
        ? '-D/--daemon cannot be used with --inetd: inetd waits for the process it started'
        : '-D/--daemon cannot be used with a socket passed by systemd: let systemd run websockify in the foreground',
      '--daemon',
    );
  }
  const wrapSpec = wrap ? parseWrap(argv, wrapCommand, targets, listenPort) : undefined;
  if (!wrap) {
    for (const name of ['wrap-mode', 'wrap-port']) {
      if (given(argv, name))
        throw new UsageError(`option --${name} needs a program to wrap (PORT -- COMMAND)`, `--${name}`);
    }
  }
  let target: TargetSpec | undefined;
  if (wrapSpec) {
    if (given(argv, 'unix-target'))
      throw new UsageError('--unix-target cannot be used with a wrapped program', '--unix-target');
    if (tokens) throw new UsageError('--token-plugin cannot be used with a wrapped program', '--token-plugin');
  } else if (tokens) {
    if (given(argv, 'unix-target')) {
      throw new UsageError('--unix-target cannot be used with --token-plugin', '--unix-target');
    }
    if (targets.length > 0) throw new UsageError('Too many arguments: a token plugin replaces the target', 'target');
  } else if (typeof argv['unix-target'] === 'string') {
    if (targets.length > 0) throw new UsageError('Too many arguments: --unix-target replaces the target', 'target');
    target = { kind: 'unix', path: argv['unix-target'] };
  } else {
    if (targets.length < 1) throw new UsageError('Too few arguments: the target is missing', 'target');
    if (targets.length > 1) {
      throw new UsageError(`Too many arguments: unexpected '${targets[1]}'`, 'arguments');
    }
    const { host, port } = parseTargetSpec(targets[0]!);
    target = { kind: 'tcp', host, port };
  }

  const maxMessageSize = byteCount(argv, 'max-message-size');
  const maxFrameSize = byteCount(argv, 'max-frame-size');

  const web = parsedOption(argv, 'web', resolveWebRoot);
  const syslog = parsedOption(argv, 'syslog', parseSyslogServer);
  const logging: LogDestinations = {
    ...(argv['log-file'] === undefined ? {} : { logFile: path.resolve(String(argv['log-file'])) }),
    ...(syslog ? { syslog } : {}),
    legacySyslog: given(argv, 'legacy-syslog'),
    format: parseLogFormat(argv),
  };

  const tlsFlags = parseTlsFlags(argv);
  notices.push(...tlsFlags.notices);
  return {
    kind: 'run',
    ...(wrapSpec ? { wrap: wrapSpec } : {}),
    verbose: given(argv, 'verbose'),
    logging,
    daemon,
    workers: parsedOption(argv, 'workers', parseWorkerCount) ?? 1,
    notices,
    ...(tokens ? { tokens } : {}),
    ...(typeof argv['auth-plugin'] === 'string'
      ? { auth: { name: argv['auth-plugin'], source: optionalString(argv, 'auth-source') } }
      : {}),
    options: {
      listen,
      preferIpv6: given(argv, 'prefer-ipv6'),
      ...(target ? { target } : {}),
      runOnce: given(argv, 'run-once'),
      timeout: seconds(argv, 'timeout'),
      idleTimeout: seconds(argv, 'idle-timeout'),
      heartbeat: seconds(argv, 'heartbeat'),
      maxMessageSize,
      maxFrameSize,
      connectTimeout: seconds(argv, 'connect-timeout'),
      ...(web === undefined ? {} : { web, fileOnly: given(argv, 'file-only'), webAuth: given(argv, 'web-auth') }),
      traffic: given(argv, 'traffic'),
      ...(given(argv, 'no-legacy') ? { legacy: false } : {}),
      ...(typeof argv.record === 'string' ? { record: argv.record } : {}),
      ...(tlsFlags.tls ? { tls: tlsFlags.tls } : {}),
      ...(tlsFlags.targetTls ? { targetTls: tlsFlags.targetTls } : {}),
    },
  };
}
