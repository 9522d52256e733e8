// ExpectOrigin: the request's Origin header must equal one of the source's space-separated
// origins exactly; otherwise 403 with the reason phrase "Invalid Origin", as in the reference.

import { AuthenticationError, type AuthPlugin } from './auth-plugin.js';
import { badSource } from '../errors/config-error.js';

export function createExpectOrigin(source: string | undefined): AuthPlugin {
  const allowed = (source ?? '').split(/\s+/).filter((o) => o !== '');
  if (allowed.length === 0) throw badSource('authSource', (s) => `ExpectOrigin needs ${s} "ORIGIN [ORIGIN...]"`);
  return {
    authenticate({ headers }) {
      const origin = headers.origin;
      if (origin === undefined || !allowed.includes(origin)) {
        throw new AuthenticationError({
          reason: 'Invalid Origin',
          logMessage: `Invalid Origin Header: Expected one of ${JSON.stringify(allowed)}, got ${JSON.stringify(origin ?? null)}`,
        });
      }
    },
  };
}
