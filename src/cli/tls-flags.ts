// The TLS flags, turned into library options: the server side (--cert, default self.pem in the
// start directory and TLS off when that default is absent; --key, --key-password, --ssl-only,
// --ssl-version, --ssl-ciphers, --verify-client, --cafile) and the target side (--ssl-target,
// --ssl-target-cafile). Files named on the command line must exist; bad values are usage errors.

import { statSync } from 'node:fs';
import path from 'node:path';
import type { TlsServerOptions, WebsockifyOptions } from '../config/options.js';
import { parseMinTlsVersion, SSL_VERSION_CHOICES } from '../tls/versions.js';
import { UsageError } from './usage-error.js';

export interface TlsFlags {
  tls?: TlsServerOptions;
  targetTls?: WebsockifyOptions['targetTls'];
  /** Flags that have no effect as given, to be mentioned at start. */
  notices: string[];
}

/** The server-side flags that only matter when there is a certificate. */
const NEED_CERT = ['key', 'key-password', 'verify-client', 'cafile', 'ssl-version', 'ssl-ciphers'] as const;

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** An explicitly named file, made absolute; a missing one is a usage error naming the flag. */
function existingFile(argv: Record<string, unknown>, name: string, cwd: string): string | undefined {
  const value = argv[name];
  if (typeof value !== 'string') return undefined;
  const file = path.resolve(cwd, value);
  if (!isFile(file)) throw new UsageError(`option --${name}: file '${file}' not found`, `--${name}`);
  return file;
}

function targetTls(argv: Record<string, unknown>, cwd: string): TlsFlags['targetTls'] {
  const cafile = existingFile(argv, 'ssl-target-cafile', cwd);
  if (!argv['ssl-target']) {
    if (cafile) throw new UsageError('You must use --ssl-target to use --ssl-target-cafile', '--ssl-target-cafile');
    return undefined;
  }
  return cafile ? { cafile } : true;
}

/** Reads the TLS flags from parsed arguments; `cwd` is where relative paths (and self.pem) are. */
export function parseTlsFlags(argv: Record<string, unknown>, cwd = process.cwd()): TlsFlags {
  const notices: string[] = [];
  const versionText = argv['ssl-version'];
  const minVersion = typeof versionText === 'string' ? parseMinTlsVersion(versionText) : undefined;
  if (typeof versionText === 'string' && !minVersion) {
    throw new UsageError(
      `option --ssl-version: expected ${SSL_VERSION_CHOICES.join(', ')}, got '${versionText}'`,
      '--ssl-version',
    );
  }
  const target = targetTls(argv, cwd);
  const cert = existingFile(argv, 'cert', cwd) ?? path.resolve(cwd, 'self.pem');
  if (!isFile(cert)) {
    // The default certificate is absent: TLS is off, as in the reference.
    if (argv['ssl-only']) {
      throw new UsageError(`option --ssl-only: SSL only and '${cert}' not found (give --cert FILE)`, '--ssl-only');
    }
    for (const name of NEED_CERT) {
      if (argv[name] !== undefined && argv[name] !== false) {
        notices.push(`note: --${name} has no effect: TLS is off ('${cert}' not found; give --cert FILE)`);
      }
    }
    return { ...(target ? { targetTls: target } : {}), notices };
  }
  const verifyClient = argv['verify-client'] === true;
  const cafile = existingFile(argv, 'cafile', cwd);
  if (cafile && !verifyClient) notices.push('note: --cafile has no effect without --verify-client');
  const key = existingFile(argv, 'key', cwd);
  const tls: TlsServerOptions = {
    cert,
    ...(key ? { key } : {}),
    ...(typeof argv['key-password'] === 'string' ? { keyPassword: argv['key-password'] } : {}),
    sslOnly: argv['ssl-only'] === true,
    ...(minVersion ? { minVersion } : {}),
    ...(typeof argv['ssl-ciphers'] === 'string' ? { ciphers: argv['ssl-ciphers'] } : {}),
    verifyClient,
    ...(cafile ? { cafile } : {}),
  };
  return { tls, ...(target ? { targetTls: target } : {}), notices };
}
