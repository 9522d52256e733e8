// The kinds of option values (seconds, bytes, octal mode, port, path, choice, flag): how each is
// read from text on the command line and how a library caller's value is checked, with one
// wording of what was expected. The option table gives each option its kind; resolveOptions()
// uses the same checks, so a rule is written once whichever way the value arrives.

import { isIP } from 'node:net';
import os from 'node:os';
import { badValue, optionProblem } from '../errors/config-error.js';

/** How an option's value is read from the command line. */
export interface ValueKind<T> {
  /** False for a flag (an option without a value). */
  readonly takesValue: boolean;
  /** The placeholder in --help unless the option names its own (`SECONDS`). */
  readonly metavar: string;
  /** The accepted texts, when they are a short list (shell completion offers them). */
  readonly choices?: readonly string[];
  /** Reads `text`; throws ConfigError naming `key`. `metavar` is the option's placeholder. */
  parse(text: string, key: string, metavar: string): T;
}

/** An option without a value: given means true. */
export const FLAG: ValueKind<true> = { takesValue: false, metavar: '', parse: () => true };

/** An option without a value that turns its key off (`--no-legacy`: legacy false). */
export const OFF: ValueKind<false> = { takesValue: false, metavar: '', parse: () => false };

/** Any text, empty included (a password, a cipher list, a plugin's argument). */
export const TEXT: ValueKind<string> = { takesValue: true, metavar: 'TEXT', parse: (text) => text };

/**
 * A file, directory, socket, module or source, as typed: an empty value is refused (it would
 * mean the start directory, e.g. `--web ""` serving it). It is resolved where it is used.
 */
export const PATH: ValueKind<string> = {
  takesValue: true,
  metavar: 'FILE',
  parse(text, key, metavar) {
    if (text === '') throw optionProblem(key, `the value is empty (expected ${metavar})`);
    return text;
  },
};

const SECONDS_EXPECTED = 'a number of seconds';

/** A duration in seconds: a decimal number, 0 or more (`1.5`). */
export const SECONDS: ValueKind<number> = {
  takesValue: true,
  metavar: 'SECONDS',
  parse(text, key) {
    if (!/^\d+(\.\d+)?$/.test(text)) throw badValue(key, SECONDS_EXPECTED, text);
    return Number(text);
  },
};

/** A library caller's duration in seconds, as milliseconds; undefined is 0 (off). */
export function milliseconds(value: number | undefined, key: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw badValue(key, SECONDS_EXPECTED, value);
  }
  return Math.round(value * 1000);
}

const BYTES_EXPECTED = 'a positive number of bytes';

/** A size in bytes: a whole number above 0. */
export const BYTES: ValueKind<number> = {
  takesValue: true,
  metavar: 'BYTES',
  parse(text, key) {
    return byteCount(/^\d+$/.test(text) ? Number(text) : NaN, key, text);
  },
};

/** A library caller's size in bytes (a whole number above 0), or `fallback` when undefined. */
export function bytes(value: number | undefined, fallback: number, key: string): number {
  return value === undefined ? fallback : byteCount(value, key, value);
}

function byteCount(value: number, key: string, shown: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw badValue(key, BYTES_EXPECTED, shown);
  }
  return value;
}

/** A count: a whole number, `min` or more (`wholeNumber(1)` for workers, 0 when 0 means "none"). */
export function wholeNumber(
  min: number,
): ValueKind<number> & { check(value: number | undefined, fallback: number, key: string): number } {
  const expected = `a whole number, ${min} or more`;
  const checked = (value: number, key: string, shown: unknown): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw badValue(key, expected, shown);
    return value;
  };
  return {
    takesValue: true,
    metavar: 'N',
    parse: (text, key) => checked(/^\d+$/.test(text) ? Number(text) : NaN, key, text),
    /** A library caller's count, or `fallback` when undefined. */
    check: (value, fallback, key) => (value === undefined ? fallback : checked(value, key, value)),
  };
}

/** Permission bits in octal, as the reference takes them: `660` or `0660`. */
export const OCTAL_MODE: ValueKind<number> = {
  takesValue: true,
  metavar: 'MODE',
  parse(text, key) {
    if (!/^0?[0-7]{1,3}$/.test(text)) throw badValue(key, 'octal permissions such as 0600 or 660', text);
    return parseInt(text, 8);
  },
};

/** A library caller's permission bits (0 to 0o777). */
export function fileMode(value: number, key: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0o777) {
    throw badValue(key, 'permission bits between 0 and 0o777', value);
  }
  return value;
}

/** A TCP port, 1-65535. */
export const PORT: ValueKind<number> = {
  takesValue: true,
  metavar: 'PORT',
  parse(text, key) {
    const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (!(port >= 1 && port <= 65535)) throw badValue(key, 'a port number (1-65535)', text);
    return port;
  },
};

/** More would only add memory: a worker per core is what the proxy can use. */
export const MAX_WORKERS = 1024;

/** A number of worker processes (`--workers`): 1 to MAX_WORKERS, or `auto` for one per core. */
export const WORKER_COUNT: ValueKind<number> = {
  takesValue: true,
  metavar: 'N',
  parse(text, key) {
    if (text === 'auto') return os.availableParallelism();
    const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (!(n >= 1 && n <= MAX_WORKERS)) throw badValue(key, `a number from 1 to ${MAX_WORKERS} or 'auto'`, text);
    return n;
  },
};

/** "a, b or c". */
function either(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)!}`;
}

/** One of a few words, exactly as listed. */
export function choice<T extends string>(values: readonly T[]): ValueKind<T> {
  return {
    takesValue: true,
    metavar: 'WORD',
    choices: values,
    parse(text, key) {
      if (!(values as readonly string[]).includes(text)) throw badValue(key, either(values), text);
      return text as T;
    },
  };
}

/** A number of connections: 0 or more, 0 is no limit. */
export const CONNECTIONS = wholeNumber(0);

/** An IP address range: `10.0.0.0/8`, `fd00::/8`; a bare address is /32 or /128. */
export interface AddressRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** A library caller's address ranges: CIDR texts, as a list or one comma-separated string. */
export function addressRanges(value: string | readonly string[], key: string): AddressRange[] {
  const texts = typeof value === 'string' ? value.split(',') : value;
  if (texts.length === 0) throw badValue(key, 'IP addresses or CIDR ranges', '');
  return texts.map((text) => {
    const [address = '', prefix, extra] = String(text).trim().split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const length = prefix === undefined ? bits : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (family === 0 || extra !== undefined || !(length >= 0 && length <= bits)) {
      throw badValue(key, 'IP addresses or CIDR ranges such as 10.0.0.0/8 or ::1', text);
    }
    return { address, prefix: length, family: family === 4 ? 'ipv4' : 'ipv6' };
  });
}
