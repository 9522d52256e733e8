// Turns the command line into a CliConfig. yargs reads the flags as the option table
// (config/option-table.ts) declares them: types, aliases, groups, unknown options refused, and
// each value read by its kind (coerce). The library options among them are copied by key; what
// is left here is what one row cannot say: the positionals (listen, target, wrapped command) and
// the rules across options. Every error is a UsageError naming the flag (exit status 2).

import path from 'node:path';
import yargs, { type Argv } from 'yargs';
import { parseListenSpec, parseTargetSpec, type HostPort } from '../config/address.js';
import { DEFAULTS } from '../config/defaults.js';
import { checkMetricsPort, type MetricsAddress } from '../config/metrics-address.js';
import { metavarOf, missingNeed, OPTION_TABLE, type OptionRow, type Settings } from '../config/option-table.js';
import type { ListenOption, WebsockifyOptions } from '../config/options.js';
import type { LogFormat } from '../log/log-format.js';
import { parseSyslogServer, type SyslogDestination } from '../log/syslog-sink.js';
import type { ActivatedSocket } from '../listen/systemd.js';
import type { TargetSpec } from '../targets/target.js';
import type { CommandLine, WrapMode } from '../wrap/supervisor.js';
import { helpText, USAGE_FORMS } from './help-text.js';
import { expandOptionPrefixes } from './option-prefixes.js';
import { tlsOptions } from './tls-flags.js';
import { asUsageError, flagOf, UsageError } from './usage-error.js';

export { UsageError };

export const USAGE = USAGE_FORMS.map((form) => `$0 ${form}`).join('\n');

export type CliConfig =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | {
      kind: 'run';
      options: WebsockifyOptions & { listen: ListenOption; target?: TargetSpec | undefined };
      /** Set in wrap mode (`PORT -- COMMAND`); the target is then the moved port. */
      wrap?: WrapSpec | undefined;
      verbose: boolean;
      logging: LogDestinations;
      /** -D: run in the background once started. */
      daemon: boolean;
      /** --workers: processes that run the proxy (1: this one does). */
      workers: number;
      /** Notices to print at start (compatibility-only options). */
      notices: string[];
      /** --token-plugin (or --target-config): the target is chosen per connection. */
      tokens?: CliConfigTokens | undefined;
      /** --auth-plugin. */
      auth?: PluginSpec | undefined;
      /** --metrics: where the metrics listener binds. */
      metrics?: MetricsAddress | undefined;
    };

/** A plugin named on the command line, loaded at start (cli/plugins.ts). */
export interface PluginSpec {
  /** A built-in name (`TokenFile`) or a module path (`./plugin.js`). */
  name: string;
  source: string | undefined;
}

type CliConfigTokens = PluginSpec & { hostToken: boolean };

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
  command: CommandLine;
  mode: WrapMode;
  /** The port the program binds (REBIND_OLD_PORT): --wrap-port, else the listen port. */
  programPort: number;
}

/** What the command line is run with besides its arguments. */
export interface ParseContext {
  /** The socket systemd passed in (socket activation): then the listen argument is optional. */
  activated?: ActivatedSocket | undefined;
}

type Parsed = Record<string, unknown> & { _: (string | number)[]; '--'?: (string | number)[] };

const dashed = (name: string): string => (name.length === 1 ? `-${name}` : `--${name}`);

/** Rewrites yargs' messages so they name flags as typed: "Unknown argument: bogus" -> "--bogus". */
function flagMessage(message: string): string {
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown) return `unknown option ${unknown[1]!.split(', ').map(dashed).join(', ')}`;
  const missing = /^Not enough arguments following: (.*)$/.exec(message);
  if (missing) return `option ${dashed(missing[1]!)} needs a value`;
  return message;
}

/**
 * The yargs declaration of one row: its type, alias, group, and its value read by its kind.
 * yargs keeps only the message of an error thrown in `coerce`, so the error itself (with the
 * option's key) goes to `failed` for the fail handler.
 */
function yargsOption(o: OptionRow, failed: (err: unknown) => void) {
  const { value } = o;
  const read = (text: unknown): unknown => {
    try {
      return value.parse(String(text), o.key, metavarOf(o));
    } catch (err) {
      failed(err);
      throw err;
    }
  };
  return {
    type: value.takesValue ? ('string' as const) : ('boolean' as const),
    describe: o.help,
    group: o.group,
    ...(o.alias ? { alias: o.alias } : {}),
    ...(value.takesValue ? { requiresArg: true, nargs: 1, coerce: read } : {}),
    ...(value.choices ? { choices: value.choices } : {}),
  };
}

function buildParser(args: string[]): Argv {
  let coerceError: unknown;
  let parser = yargs(args)
    .scriptName('websockify')
    .usage(USAGE)
    .parserConfiguration({
      // The wrapped command line after `--`, as typed.
      'populate--': true,
      // Values are text until their kind reads them (`--wrap-port 08`, a listen port `0080`).
      'parse-positional-numbers': false,
      'parse-numbers': false,
      // `--no-legacy` is an option of its own, not the negation of a `--legacy`.
      'boolean-negation': false,
      'duplicate-arguments-array': false,
      'strip-aliased': true,
      // Options are spelled as in --help only: no --logFile, and no camelCase in messages.
      'camel-case-expansion': false,
    })
    .strictOptions()
    // --help and --version are rows of the table: help-text.ts writes the help (with each
    // value's placeholder, `--web DIR`), and main.ts prints the version.
    .help(false)
    .version(false)
    .exitProcess(false)
    .fail((message, err) => {
      throw coerceError ?? new UsageError(flagMessage(message || err?.message || 'invalid arguments'));
    });
  for (const o of OPTION_TABLE)
    parser = parser.option(
      o.flag,
      yargsOption(o, (err) => (coerceError ??= err)),
    );
  return parser;
}

/** Each given option's value, by key (yargs has read them with their kinds). */
function settingsOf(argv: Parsed): Settings {
  const settings: Record<string, unknown> = {};
  for (const o of OPTION_TABLE as readonly OptionRow[]) {
    const v = argv[o.flag];
    if (v === undefined || v === false) continue;
    settings[o.key] = o.value.takesValue ? v : o.value.parse('', o.key, '');
  }
  return settings as Settings;
}

/** Whether `key` is given, or a given option provides it (`--target-config` provides resolveTarget). */
function givenIn(settings: Settings): (key: string) => boolean {
  const has = settings as Record<string, unknown>;
  return (key) =>
    has[key] !== undefined ||
    (OPTION_TABLE as readonly OptionRow[]).some((o) => o.provides === key && has[o.key] !== undefined);
}

/** The table's `needs` rules, with the reference's messages. */
function checkNeeds(settings: Settings): void {
  const given = givenIn(settings);
  for (const o of OPTION_TABLE as readonly OptionRow[]) {
    if ((settings as Record<string, unknown>)[o.key] === undefined) continue;
    const missing = missingNeed(o, given);
    if (missing !== undefined)
      throw new UsageError(`You must use ${flagOf(missing)} to use --${o.flag}`, `--${o.flag}`);
  }
}

/** The library options given by flags of their own, copied to their keys (`tls.cert` into tls). */
function copiedOptions(settings: Settings): Omit<WebsockifyOptions, 'listen' | 'target'> {
  const options: Record<string, unknown> = {};
  for (const o of OPTION_TABLE as readonly OptionRow[]) {
    const value = (settings as Record<string, unknown>)[o.key];
    if (o.use !== 'option' || value === undefined) continue;
    const parts = o.key.split('.');
    let into = options;
    for (const part of parts.slice(0, -1)) into = (into[part] ??= {}) as Record<string, unknown>;
    into[parts.at(-1)!] = value;
  }
  return options as WebsockifyOptions;
}

/**
 * --token-plugin/--token-source/--host-token, or the deprecated --target-config FILE, which
 * means TokenFile with FILE made absolute (both together are refused).
 */
function parseTokenOptions(s: Settings): CliConfigTokens | undefined {
  const hostToken = s.hostToken === true;
  if (s.targetConfig !== undefined) {
    if (s.tokenPlugin !== undefined) {
      throw new UsageError(
        '--target-config is a shorthand for --token-plugin TokenFile; give only one',
        '--target-config',
      );
    }
    return { name: 'TokenFile', source: path.resolve(s.targetConfig), hostToken };
  }
  return s.tokenPlugin === undefined ? undefined : { name: s.tokenPlugin, source: s.tokenSource, hostToken };
}

/**
 * `targets` are the positionals after the listen argument; `listenPort` is the listen
 * argument's port, absent when websockify listens on a unix socket or an inherited one.
 */
function parseWrap(s: Settings, command: CommandLine, targets: string[], listenPort: number | undefined): WrapSpec {
  if (targets.length > 0) {
    throw new UsageError(`Too many arguments: a wrapped program replaces the target ('${targets[0]}')`, 'target');
  }
  const programPort = s.wrapPort ?? listenPort;
  if (programPort === undefined) {
    throw new UsageError(
      'a wrapped program needs --wrap-port PORT (the port it binds) when websockify does not listen on a TCP port',
      '--wrap-port',
    );
  }
  if (programPort === 0) throw new UsageError('a wrapped program needs a fixed listen port, or --wrap-port', 'listen');
  return { command, mode: s.wrapMode ?? DEFAULTS.wrapMode, programPort };
}

/**
 * The listen source and the positionals left for the target. --inetd and --unix-listen take
 * no listen argument (as in the reference); with a socket from systemd it is optional and not
 * bound (it may still name the wrapped program's port), so one command line works both ways.
 */
function parseListen(
  s: Settings,
  positionals: string[],
  targetCount: number,
  context: ParseContext,
  notices: string[],
): { listen: ListenOption; listenPort: number | undefined; targets: string[] } {
  const unixListen = s['listen.path'];
  if (s['listen.fd'] && unixListen !== undefined) {
    throw new UsageError('--inetd and --unix-listen cannot be used together', '--unix-listen');
  }
  if (s['listen.fd']) return { listen: { fd: 0, name: 'inetd' }, listenPort: undefined, targets: positionals };
  if (unixListen !== undefined) {
    const mode = s['listen.mode'];
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

/** The fixed target, unless a wrapped program or a token plugin chooses it. */
function parseTarget(
  s: Settings,
  targets: string[],
  wrapped: boolean,
  tokens: CliConfigTokens | undefined,
): TargetSpec | undefined {
  const unixTarget = s['target.path'];
  if (wrapped) {
    if (unixTarget !== undefined)
      throw new UsageError('--unix-target cannot be used with a wrapped program', '--unix-target');
    if (tokens) throw new UsageError('--token-plugin cannot be used with a wrapped program', '--token-plugin');
    return undefined;
  }
  if (tokens) {
    if (unixTarget !== undefined) {
      throw new UsageError('--unix-target cannot be used with --token-plugin', '--unix-target');
    }
    if (targets.length > 0) throw new UsageError('Too many arguments: a token plugin replaces the target', 'target');
    return undefined;
  }
  if (unixTarget !== undefined) {
    if (targets.length > 0) throw new UsageError('Too many arguments: --unix-target replaces the target', 'target');
    return { kind: 'unix', path: unixTarget };
  }
  if (targets.length < 1) throw new UsageError('Too few arguments: the target is missing', 'target');
  if (targets.length > 1) throw new UsageError(`Too many arguments: unexpected '${targets[1]}'`, 'arguments');
  const { host, port } = parseTargetSpec(targets[0]!);
  return { kind: 'tcp', host, port };
}

/** yargs reads `--flag=yes` on a boolean as false; refuse a value instead of ignoring it. */
function rejectValuedFlags(args: string[]): void {
  const end = args.indexOf('--');
  for (const arg of end === -1 ? args : args.slice(0, end)) {
    const m = /^--?([^=]+)=/.exec(arg);
    if (!m) continue;
    const option = (OPTION_TABLE as readonly OptionRow[]).find((o) => o.flag === m[1] || o.alias === m[1]);
    if (option && !option.value.takesValue) {
      throw new UsageError(`option ${dashed(m[1]!)} does not take a value`, dashed(m[1]!));
    }
  }
}

/** Every long option, for prefix matching (`--verb` is `--verbose`). */
const LONG_OPTIONS = OPTION_TABLE.map((o) => ({ name: o.flag, takesValue: o.value.takesValue }));

/** Parses the arguments after the program name. Throws UsageError on any problem. */
export async function parseCommandLine(typed: string[], context: ParseContext = {}): Promise<CliConfig> {
  try {
    return await parse(typed, context);
  } catch (err) {
    throw asUsageError(err);
  }
}

async function parse(typed: string[], context: ParseContext): Promise<CliConfig> {
  const args = expandOptionPrefixes(typed, LONG_OPTIONS);
  rejectValuedFlags(args);
  const argv = (await buildParser(args).parseAsync()) as Parsed;
  const s = settingsOf(argv);
  if (s.help) return { kind: 'help', text: helpText(process.stdout.columns || 100) };
  if (s.version) return { kind: 'version' };

  checkNeeds(s);
  const positionals = argv._.map(String);
  const [program, ...programArgs] = argv['--']?.map(String) ?? [];
  const wrapCommand: CommandLine | undefined = program === undefined ? undefined : [program, ...programArgs];
  const wrap = wrapCommand !== undefined;
  if (!wrap && args.includes('--')) throw new UsageError('no command given after --', '--');

  const notices = (OPTION_TABLE as readonly OptionRow[])
    .filter((o) => o.compatOnly && (s as Record<string, unknown>)[o.key] !== undefined)
    .map((o) => `note: ${o.compatOnly}`);
  const tokens = parseTokenOptions(s);
  // A wrapped program, --unix-target or a token plugin replaces the target argument.
  const targetCount = wrap || tokens || s['target.path'] !== undefined ? 0 : 1;
  const { listen, listenPort, targets } = parseListen(s, positionals, targetCount, context, notices);
  if (s.daemon && 'fd' in listen) {
    throw new UsageError(
      listen.fd === 0
        ? '-D/--daemon cannot be used with --inetd: inetd waits for the process it started'
        : '-D/--daemon cannot be used with a socket passed by systemd: let systemd run websockify in the foreground',
      '--daemon',
    );
  }
  const wrapSpec = wrap ? parseWrap(s, wrapCommand, targets, listenPort) : undefined;
  if (!wrap) {
    for (const flag of ['wrap-mode', 'wrap-port']) {
      if (argv[flag] !== undefined) {
        throw new UsageError(`option --${flag} needs a program to wrap (PORT -- COMMAND)`, `--${flag}`);
      }
    }
  }
  const target = parseTarget(s, targets, wrap, tokens);
  if (s.metrics) checkMetricsPort(s.metrics, listen);

  const logging: LogDestinations = {
    ...(s.logFile === undefined ? {} : { logFile: path.resolve(s.logFile) }),
    ...(s.syslog === undefined ? {} : { syslog: parseSyslogServer(s.syslog) }),
    legacySyslog: s.legacySyslog === true,
    format: s.logFormat ?? DEFAULTS.logFormat,
  };

  const { tls: tlsGiven, ...copied } = copiedOptions(s);
  const { tls, targetTls, notices: tlsNotices } = tlsOptions(tlsGiven ?? {}, s);
  notices.push(...tlsNotices);
  return {
    kind: 'run',
    wrap: wrapSpec,
    verbose: s.verbose === true,
    logging,
    daemon: s.daemon === true,
    workers: s.workers ?? DEFAULTS.workers,
    notices,
    tokens,
    ...(s.authPlugin === undefined ? {} : { auth: { name: s.authPlugin, source: s.authSource } }),
    metrics: s.metrics,
    options: { ...copied, listen, target, tls, targetTls },
  };
}
