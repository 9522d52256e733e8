// ConfigError: an option or argument that cannot be used, found before anything starts (a value
// out of range, a missing target, a plugin that does not load). `option` is the library key at
// fault; the command line turns the key into its flag and exits with status 2.

import { WebsockifyError, type ErrorCode, type OptionNamer, type Wording } from './websockify-error.js';

export class ConfigError extends WebsockifyError {
  constructor(wording: Wording, option?: string, code: ErrorCode = 'ERR_OPTION_VALUE') {
    super(code, wording, { option });
    this.name = 'ConfigError';
  }
}

/** How a value is shown in a message: text quoted, anything else as it prints. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}

/** "option heartbeat: expected a number of seconds, got -1" (the command line: "--heartbeat"). */
export function badValue(option: string, expected: string, got: unknown): ConfigError {
  return new ConfigError((name) => `option ${name(option)}: expected ${expected}, got ${shown(got)}`, option);
}

/** "option web: <problem>", the key spelled as the reader knows it. */
export function optionProblem(option: string, problem: string | ((name: OptionNamer) => string)): ConfigError {
  return new ConfigError(
    (name) => `option ${name(option)}: ${typeof problem === 'string' ? problem : problem(name)}`,
    option,
  );
}

/**
 * A plugin's source argument that is missing or unusable: `words` gets the spelling of the
 * source's key (`tokenSource`; the command line's `--token-source`).
 */
export function badSource(key: 'tokenSource' | 'authSource', words: (source: string) => string): ConfigError {
  return new ConfigError((name) => words(name(key)), key);
}

/** `option` was given without `needed`; the command line words it as the reference does. */
export class OptionDependencyError extends ConfigError {
  constructor(
    option: string,
    readonly needed: string,
  ) {
    super((name) => `option ${name(option)} needs option ${name(needed)}`, option, 'ERR_OPTION_DEPENDENCY');
  }
}
