// The base of every error the library throws on purpose, and the table of their codes. A caller
// tests `code` (and `option`, the library option at fault) instead of parsing messages.
// Messages name options by their library keys (`heartbeat`, `tls.cert`); `describe()` words the
// same message with other names for them, which is how the command line names its flags.

/** Every error code, with what it means. */
export const ERROR_CODES = {
  ERR_USAGE: 'the command line cannot be understood (an unknown option, a missing argument)',
  ERR_OPTION_VALUE: 'an option has a value it cannot take',
  ERR_OPTION_MISSING: 'an option that is required was not given',
  ERR_OPTION_DEPENDENCY: 'an option was given without another one it needs',
  ERR_OPTION_CONFLICT: 'options that exclude each other were given together',
  ERR_PLUGIN: 'a token or auth plugin could not be loaded or created',
  ERR_LISTEN: 'the listen address cannot be used (a host that does not resolve)',
  ERR_ENVIRONMENT: 'the environment is not what it should be (systemd socket activation variables)',
  ERR_TLS_SETUP: 'the TLS certificate, key or CA file cannot be read or used',
  ERR_UPGRADE_REFUSED: 'an HTTP request was refused with a status (token, auth)',
  ERR_TOKEN_LOOKUP_TIMEOUT: 'a token plugin took too long to answer',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Spells an option key: the library spells it as it is, the command line as its flag. */
export type OptionNamer = (key: string) => string;

/** A message, or a function wording it with a given spelling of option keys. */
export type Wording = string | ((name: OptionNamer) => string);

const asKey: OptionNamer = (key) => key;

export class WebsockifyError extends Error {
  readonly code: ErrorCode;
  /** The library option the problem is about (`heartbeat`, `tls.cert`, `listen`), if any. */
  readonly option: string | undefined;
  private readonly wording: Wording;

  constructor(code: ErrorCode, wording: Wording, details: { option?: string | undefined; cause?: unknown } = {}) {
    super(typeof wording === 'string' ? wording : wording(asKey), { cause: details.cause });
    this.name = 'WebsockifyError';
    this.code = code;
    this.option = details.option;
    this.wording = wording;
  }

  /** The message with each option key spelled by `name` (the message itself uses the keys). */
  describe(name: OptionNamer): string {
    return typeof this.wording === 'string' ? this.wording : this.wording(name);
  }
}
