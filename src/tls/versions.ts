// TLS protocol versions as the command line spells them: the reference's --ssl-version choices
// (default, tlsv1_1, tlsv1_2, tlsv1_3) and Node's own names (TLSv1.2...), mapped to the minimum
// version Node enforces. `default` means TLS 1.2, as on the reference with a current Python.

import type { SecureVersion } from 'node:tls';

export const DEFAULT_MIN_TLS_VERSION: SecureVersion = 'TLSv1.2';

const SPELLINGS: Record<string, SecureVersion> = {
  default: DEFAULT_MIN_TLS_VERSION,
  tlsv1_1: 'TLSv1.1',
  tlsv1_2: 'TLSv1.2',
  tlsv1_3: 'TLSv1.3',
  'tlsv1.1': 'TLSv1.1',
  'tlsv1.2': 'TLSv1.2',
  'tlsv1.3': 'TLSv1.3',
};

/** The accepted spellings, for error messages and --help. */
export const SSL_VERSION_CHOICES = ['default', 'tlsv1_1', 'tlsv1_2', 'tlsv1_3'] as const;

/** Maps an --ssl-version value (case-insensitive) to a minimum version; undefined if unknown. */
export function parseMinTlsVersion(text: string): SecureVersion | undefined {
  return SPELLINGS[text.toLowerCase()];
}
