// BasicHTTPAuth: HTTP Basic credentials must equal the `user:password` source. No or wrong
// credentials get 401 with a `WWW-Authenticate` challenge; a header that is not well-formed
// Basic (other scheme, bad base64, no colon) gets 403. Comparison is constant-time.

import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthenticationError, type AuthPlugin } from './auth-plugin.js';
import { badSource } from '../errors/config-error.js';

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="Websockify"' };
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const digest = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest();

export function createBasicHttpAuth(source: string | undefined): AuthPlugin {
  if (!source?.includes(':')) throw badSource('authSource', (s) => `BasicHTTPAuth needs ${s} user:password`);
  // Browsers send UTF-8; the reference compared ISO-8859-1 text. Either encoding matches.
  const expected = [digest(Buffer.from(source, 'utf8')), digest(Buffer.from(source, 'latin1'))];
  return {
    authenticate({ headers }) {
      const header = headers.authorization;
      if (!header) {
        throw new AuthenticationError({ status: 401, message: 'Authentication required', headers: CHALLENGE });
      }
      const m = /^basic +(\S*) *$/i.exec(header);
      if (!m || !BASE64.test(m[1]!)) {
        throw new AuthenticationError({ logMessage: 'malformed Basic Authorization header' });
      }
      const credentials = Buffer.from(m[1]!, 'base64');
      if (!credentials.includes(0x3a)) {
        throw new AuthenticationError({ logMessage: 'Basic credentials without a colon' });
      }
      const given = digest(credentials);
      let match = false;
      for (const e of expected) match = timingSafeEqual(given, e) || match;
      if (!match) {
        throw new AuthenticationError({
          status: 401,
          message: 'Authentication required',
          logMessage: 'wrong Basic credentials',
          headers: CHALLENGE,
        });
      }
    },
  };
}
