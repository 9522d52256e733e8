// ClientCertCNAuth: the subject CN of the client's verified TLS certificate must be one of the
// source's space-separated names. Plain connections and unverified certificates get 403.

import { AuthenticationError, type AuthPlugin } from './auth-plugin.js';
import { badSource } from '../errors/config-error.js';

export function createClientCertCnAuth(source: string | undefined): AuthPlugin {
  const allowed = (source ?? '').split(/\s+/).filter((cn) => cn !== '');
  if (allowed.length === 0) throw badSource('authSource', (s) => `ClientCertCNAuth needs ${s} "CN [CN...]"`);
  return {
    authenticate({ clientCertCN }) {
      if (clientCertCN === undefined || !allowed.includes(clientCertCN)) {
        throw new AuthenticationError({
          logMessage:
            clientCertCN === undefined
              ? 'no verified TLS client certificate'
              : `client certificate CN ${JSON.stringify(clientCertCN)} is not allowed`,
        });
      }
    },
  };
}
