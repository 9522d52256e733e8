// Long options may be shortened to any unambiguous prefix, as the reference's optparse allows
// (`--ssl-on` is `--ssl-only`, `--verb` is `--verbose`): this rewrites the arguments before
// they are parsed. An exact name always wins; a prefix of several names is a usage error
// listing them; anything else is left for the parser to report.

import { UsageError } from './usage-error.js';

export interface LongOption {
  name: string;
  /** True when the option takes a value (the next argument, unless given as `--name=value`). */
  takesValue: boolean;
}

/** `args` with every long-option prefix replaced by its full name; stops at `--`. */
export function expandOptionPrefixes(args: string[], options: readonly LongOption[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < args.length) {
    const arg = args[i]!;
    i++;
    if (arg === '--') {
      out.push(...args.slice(i - 1));
      break;
    }
    const m = /^--([^=]+)(=.*)?$/s.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    const [, typed, value] = m as unknown as [string, string, string | undefined];
    const option = resolve(typed, options);
    out.push(option ? `--${option.name}${value ?? ''}` : arg);
    // The value of an option that takes one is never an option itself (`--key-password --x`).
    if (option?.takesValue && value === undefined && i < args.length) out.push(args[i++]!);
  }
  return out;
}

function resolve(typed: string, options: readonly LongOption[]): LongOption | undefined {
  const exact = options.find((o) => o.name === typed);
  if (exact) return exact;
  const candidates = options.filter((o) => o.name.startsWith(typed));
  if (candidates.length > 1) {
    const names = candidates
      .map((o) => `--${o.name}`)
      .sort()
      .join(', ');
    throw new UsageError(`option --${typed} is ambiguous: it could be ${names}`, `--${typed}`);
  }
  return candidates[0];
}
