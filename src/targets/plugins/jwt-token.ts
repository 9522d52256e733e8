// JWTTokenApi: the token itself carries the target. It is a signed JWT (HS*, RS*, PS*, ES*),
// or a JWE whose plaintext is such a JWT, with `host` and `port` claims; `nbf` and `exp` are
// checked. The key file is read on each lookup, as in the reference: a PEM key (RSA or EC,
// public or private), or else a symmetric key given as its base64url JWK `k` value.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { compactDecrypt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { PluginContext } from '../../config/plugin-loader.js';
import type { TokenPlugin } from './plugin.js';
import { targetFromFields } from './target-text.js';
import { badSource } from '../../errors/config-error.js';

interface TokenKeys {
  /** Verifies signatures: the public half, or the shared secret. */
  verify: KeyObject | Uint8Array;
  /** Decrypts JWEs: the private key, or the shared secret; undefined for a public PEM. */
  decrypt: KeyObject | Uint8Array | undefined;
}

function pemKeys(pem: string): TokenKeys | undefined {
  try {
    const privateKey = createPrivateKey(pem);
    return { verify: createPublicKey(privateKey), decrypt: privateKey };
  } catch {
    try {
      return { verify: createPublicKey(pem), decrypt: undefined };
    } catch {
      return undefined;
    }
  }
}

/** Reads the key file: PEM first, otherwise the contents are a base64url secret. */
export async function readTokenKeys(file: string): Promise<TokenKeys> {
  const text = await readFile(file, 'utf8');
  const pem = text.includes('-----BEGIN') ? pemKeys(text) : undefined;
  if (pem) return pem;
  const secret = new Uint8Array(Buffer.from(text.trim(), 'base64url'));
  if (secret.length === 0) throw new Error(`JWTTokenApi: key file ${file} holds neither a PEM key nor a secret`);
  return { verify: secret, decrypt: secret };
}

/** True for errors that say the token is bad (signature, claims, format), not the plugin. */
function isTokenError(err: unknown): boolean {
  return err instanceof errors.JOSEError || err instanceof TypeError;
}

export function createJwtTokenApi(source: string | undefined, { logger }: PluginContext): TokenPlugin {
  if (!source) throw badSource('tokenSource', (s) => `JWTTokenApi needs ${s} (a key file)`);
  const keyFile = path.resolve(source);
  return {
    async lookup(token) {
      const keys = await readTokenKeys(keyFile);
      try {
        let jwt = token;
        if ('enc' in decodeProtectedHeader(token)) {
          if (!keys.decrypt) throw new errors.JWEDecryptionFailed('a public key cannot decrypt a JWE');
          jwt = new TextDecoder().decode((await compactDecrypt(token, keys.decrypt)).plaintext);
        }
        const { payload } = await jwtVerify(jwt, keys.verify);
        const target = targetFromFields(payload['host'], payload['port']);
        if (target === undefined) logger.info('JWTTokenApi: token has no valid host and port claims');
        return target;
      } catch (err) {
        if (!isTokenError(err)) throw err;
        logger.info(`JWTTokenApi: token rejected: ${(err as Error).message}`);
        return undefined;
      }
    },
  };
}
