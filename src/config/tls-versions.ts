// TLS protocol versions: Node's names (TLSv1.2...), which the library takes as tls.minVersion,
// and the command line's spellings, the reference's --ssl-version choices (default, tlsv1_1,
// tlsv1_2, tlsv1_3) and lower-case Node names, mapped to them. `default` is DEFAULTS.minTlsVersion
// (TLS 1.2, as on the reference with a current Python).

import type { SecureVersion } from 'node:tls';
import { badValue } from '../errors/config-error.js';
import { DEFAULTS } from './defaults.js';
import type { ValueKind } from './values.js';

/** The versions the library accepts as tls.minVersion. */
export const TLS_VERSIONS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

const SPELLINGS: Record<string, SecureVersion> = {
  default: DEFAULTS.minTlsVersion,
  tlsv1_1: 'TLSv1.1',
  tlsv1_2: 'TLSv1.2',
  tlsv1_3: 'TLSv1.3',
  'tlsv1.1': 'TLSv1.1',
  'tlsv1.2': 'TLSv1.2',
  'tlsv1.3': 'TLSv1.3',
};

/** The spellings --help and messages show. */
export const SSL_VERSION_CHOICES = ['default', 'tlsv1_1', 'tlsv1_2', 'tlsv1_3'] as const;

/** --ssl-version's value (case-insensitive), as the minimum version Node enforces. */
export const TLS_VERSION: ValueKind<SecureVersion> = {
  takesValue: true,
  metavar: 'VERSION',
  parse(text, key) {
    const version = SPELLINGS[text.toLowerCase()];
    if (!version) throw badValue(key, SSL_VERSION_CHOICES.join(', '), text);
    return version;
  },
};

/** A library caller's tls.minVersion, or the default. */
export function minTlsVersion(value: SecureVersion | undefined, key: string): SecureVersion {
  const version = value ?? DEFAULTS.minTlsVersion;
  if (!TLS_VERSIONS.includes(version)) throw badValue(key, `one of ${TLS_VERSIONS.join(', ')}`, version);
  return version;
}
