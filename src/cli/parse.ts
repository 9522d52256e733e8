// Turns the command line into a CliConfig: yargs for the flags (generated from the option
// table), then the reference's positional rules and option-dependency checks, then refusal of
// options whose feature does not exist yet. Every error is a UsageError (exit status 2).

import path from 'node:path';
import yargs, { type Argv } from 'yargs';
import { parseListenSpec, parsePort, parseTargetSpec, type HostPort } from '../config/address.js';
import { ConfigError } from '../config/errors.js';
import { resolveWebRoot, type WebsockifyOptions } from '../config/options.js';
import { parseSyslogServer, type SyslogDestination } from '../log/syslog-sink.js';
import type { TargetSpec } from '../targets/target.js';
import { WRAP_MODES, type WrapMode } from '../wrap/supervisor.js';
import { CLI_OPTIONS } from './options-table.js';
import { parseTlsFlags } from './tls-flags.js';
import { UsageError } from './usage-error.js';

export { UsageError };

export const USAGE = [
  '$0 [options] [source_addr:]source_port target_addr:target_port',
  '$0 [options] --token-plugin=CLASS [source_addr:]source_port',
  '$0 [options] --unix-target=FILE [source_addr:]source_port',
  '$0 [options] [source_addr:]source_port -- WRAP_COMMAND_LINE',
].join('\n');

export type CliConfig =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | {
      kind: 'run';
      options: WebsockifyOptions & { listen: { host?: string; port: number }; target?: TargetSpec };
      /** Present in wrap mode (`PORT -- COMMAND`); the target is then the moved port. */
      wrap?: WrapSpec;
      verbose: boolean;
      logging: LogDestinations;
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
  syslog?: SyslogDestination;
  legacySyslog: boolean;
}

export interface WrapSpec {
  command: string[];
  mode: WrapMode;
  /** --wrap-port; undefined means the listen port (the reference's REBIND_OLD_PORT). */
  programPort: number | undefined;
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
      describe: o.notYet ? `${o.describe} [not supported yet]` : o.describe,
      group: o.group,
      requiresArg: o.type === 'string',
      ...(o.alias ? { alias: o.alias } : {}),
      ...(o.metavar ? { nargs: 1 } : {}),
    });
  }
  return parser
    .option('help', { alias: 'h', type: 'boolean', describe: 'show this help and exit', group: 'Other:' })
    .option('version', { type: 'boolean', describe: 'show the version and exit', group: 'Other:' })
    .epilog('Options marked [not supported yet] are recognised and refused with exit status 2.');
}

function given(argv: Parsed, name: string): boolean {
  const v = argv[name];
  return v !== undefined && v !== false;
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

function parseWrap(argv: Parsed, command: string[], positionals: string[]): WrapSpec {
  if (positionals.length > 1) {
    throw new UsageError(`Too many arguments: a wrapped program replaces the target ('${positionals[1]}')`, 'target');
  }
  const mode = (argv['wrap-mode'] ?? 'exit') as string;
  if (!(WRAP_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`option --wrap-mode: expected exit, ignore or respawn, got '${mode}'`, '--wrap-mode');
  }
  const port = argv['wrap-port'];
  return {
    command,
    mode: mode as WrapMode,
    programPort: port === undefined ? undefined : parsePort(String(port), '--wrap-port'),
  };
}

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

/** Parses the arguments after the program name. Throws UsageError on any problem. */
export async function parseCommandLine(args: string[]): Promise<CliConfig> {
  rejectValuedFlags(args);
  const parser = buildParser(args);
  const argv = (await parser.parseAsync()) as Parsed;
  if (argv.help) return { kind: 'help', text: await parser.getHelp() };
  if (argv.version) return { kind: 'version' };

  checkDependencies(argv);
  const positionals = argv._.map(String);
  const wrapCommand = argv['--']?.map(String);
  const wrap = wrapCommand !== undefined && wrapCommand.length > 0;
  if (!wrap && args.includes('--')) throw new UsageError('no command given after --', '--');
  for (const o of CLI_OPTIONS) {
    if (o.notYet && given(argv, o.name)) {
      throw new UsageError(`option --${o.name} is not supported yet (${o.notYet})`, `--${o.name}`);
    }
  }

  if (positionals.length === 0) throw new UsageError('Too few arguments: the listen port is missing', 'listen');
  const listen: HostPort = parseListenSpec(positionals[0]!);
  const wrapSpec = wrap ? parseWrap(argv, wrapCommand, positionals) : undefined;
  if (!wrap) {
    for (const name of ['wrap-mode', 'wrap-port']) {
      if (given(argv, name))
        throw new UsageError(`option --${name} needs a program to wrap (PORT -- COMMAND)`, `--${name}`);
    }
  }
  const tokens = parseTokenOptions(argv);
  let target: TargetSpec | undefined;
  if (wrapSpec) {
    if (given(argv, 'unix-target'))
      throw new UsageError('--unix-target cannot be used with a wrapped program', '--unix-target');
    if (tokens) throw new UsageError('--token-plugin cannot be used with a wrapped program', '--token-plugin');
  } else if (tokens) {
    if (given(argv, 'unix-target')) {
      throw new UsageError('--unix-target cannot be used with --token-plugin', '--unix-target');
    }
    if (positionals.length > 1)
      throw new UsageError('Too many arguments: a token plugin replaces the target', 'target');
  } else if (typeof argv['unix-target'] === 'string') {
    if (positionals.length > 1) throw new UsageError('Too many arguments: --unix-target replaces the target', 'target');
    target = { kind: 'unix', path: argv['unix-target'] };
  } else {
    if (positionals.length < 2) throw new UsageError('Too few arguments: the target is missing', 'target');
    if (positionals.length > 2) {
      throw new UsageError(`Too many arguments: unexpected '${positionals[2]}'`, 'arguments');
    }
    const { host, port } = parseTargetSpec(positionals[1]!);
    target = { kind: 'tcp', host, port };
  }

  let maxMessageSize: number | undefined;
  if (argv['max-message-size'] !== undefined) {
    const text = String(argv['max-message-size']);
    maxMessageSize = Number(text);
    if (!/^\d+$/.test(text) || maxMessageSize <= 0) {
      throw new UsageError(
        `option --max-message-size: expected a positive number of bytes, got '${text}'`,
        '--max-message-size',
      );
    }
  }

  const web = parsedOption(argv, 'web', resolveWebRoot);
  const syslog = parsedOption(argv, 'syslog', parseSyslogServer);
  const logging: LogDestinations = {
    ...(argv['log-file'] === undefined ? {} : { logFile: path.resolve(String(argv['log-file'])) }),
    ...(syslog ? { syslog } : {}),
    legacySyslog: given(argv, 'legacy-syslog'),
  };

  const tlsFlags = parseTlsFlags(argv);
  const notices = CLI_OPTIONS.filter((o) => o.compatOnly && given(argv, o.name)).map((o) => `note: ${o.compatOnly}`);
  notices.push(...tlsFlags.notices);
  return {
    kind: 'run',
    ...(wrapSpec ? { wrap: wrapSpec } : {}),
    verbose: given(argv, 'verbose'),
    logging,
    notices,
    ...(tokens ? { tokens } : {}),
    ...(typeof argv['auth-plugin'] === 'string'
      ? { auth: { name: argv['auth-plugin'], source: optionalString(argv, 'auth-source') } }
      : {}),
    options: {
      listen: listen.host === undefined ? { port: listen.port } : { host: listen.host, port: listen.port },
      preferIpv6: given(argv, 'prefer-ipv6'),
      ...(target ? { target } : {}),
      runOnce: given(argv, 'run-once'),
      timeout: seconds(argv, 'timeout'),
      idleTimeout: seconds(argv, 'idle-timeout'),
      heartbeat: seconds(argv, 'heartbeat'),
      maxMessageSize,
      ...(web === undefined ? {} : { web, fileOnly: given(argv, 'file-only'), webAuth: given(argv, 'web-auth') }),
      traffic: given(argv, 'traffic'),
      ...(typeof argv.record === 'string' ? { record: argv.record } : {}),
      ...(tlsFlags.tls ? { tls: tlsFlags.tls } : {}),
      ...(tlsFlags.targetTls ? { targetTls: tlsFlags.targetTls } : {}),
    },
  };
}
