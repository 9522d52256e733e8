// The rules across the TLS flags, once the table has copied them into `tls`: --cert defaults
// to self.pem in the start directory, and TLS is off when that default is absent (as in the
// reference: --ssl-only is then an error, the other server-side flags are noted as having no
// effect); named files must exist; --ssl-target with --ssl-target-cafile makes targetTls.

import { statSync } from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../config/defaults.js';
import { OPTION_TABLE, type OptionRow, type Settings } from '../config/option-table.js';
import type { TlsServerOptions, WebsockifyOptions } from '../config/options.js';
import { flagOf, UsageError } from './usage-error.js';

export interface TlsFlags {
  /** Undefined: TLS is off. */
  tls: TlsServerOptions | undefined;
  targetTls: WebsockifyOptions['targetTls'];
  /** Flags that have no effect as given, to be mentioned at start. */
  notices: string[];
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** A file named by option `key`, made absolute; a missing one is a usage error naming the flag. */
function existingFile(file: string | undefined, key: string, cwd: string): string | undefined {
  if (file === undefined) return undefined;
  const absolute = path.resolve(cwd, file);
  if (!isFile(absolute)) throw new UsageError(`option ${flagOf(key)}: file '${absolute}' not found`, flagOf(key), key);
  return absolute;
}

/** `given` is what the TLS flags set of `tls`; `cwd` is where relative paths (and self.pem) are. */
export function tlsOptions(given: Partial<TlsServerOptions>, s: Settings, cwd = process.cwd()): TlsFlags {
  const notices: string[] = [];
  const cafile = existingFile(s['targetTls.cafile'], 'targetTls.cafile', cwd);
  const targetTls = s.targetTls ? (cafile ? { cafile } : true) : undefined;
  const cert = existingFile(given.cert, 'tls.cert', cwd) ?? path.resolve(cwd, DEFAULTS.cert);
  if (!isFile(cert)) {
    // The default certificate is absent: TLS is off, as in the reference.
    if (given.sslOnly) {
      throw new UsageError(
        `option --ssl-only: SSL only and '${cert}' not found (give --cert FILE)`,
        '--ssl-only',
        'tls.sslOnly',
      );
    }
    for (const o of OPTION_TABLE as readonly OptionRow[]) {
      if (o.key.startsWith('tls.') && (s as Record<string, unknown>)[o.key] !== undefined) {
        notices.push(`note: --${o.flag} has no effect: TLS is off ('${cert}' not found; give --cert FILE)`);
      }
    }
    return { tls: undefined, targetTls, notices };
  }
  if (given.cafile !== undefined && !given.verifyClient)
    notices.push('note: --cafile has no effect without --verify-client');
  const tls: TlsServerOptions = {
    ...given,
    cert,
    key: existingFile(given.key, 'tls.key', cwd),
    cafile: existingFile(given.cafile, 'tls.cafile', cwd),
    sslOnly: given.sslOnly ?? false,
    verifyClient: given.verifyClient ?? false,
  };
  return { tls, targetTls, notices };
}
