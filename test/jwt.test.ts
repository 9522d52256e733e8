// JWTTokenApi with tokens signed (and encrypted) in the test by jose: HS256 with a base64url
// secret file, RS256 and ES256 with PEM files, expired, not yet valid, wrong key, JWE.

import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CompactEncrypt, SignJWT } from 'jose';
import { loadTokenPlugin, type TokenPlugin } from '../src/index.js';
import { defer } from './helpers/cleanup.js';
import { openClient } from './helpers/clients.js';
import { attemptUpgrade, recordingLogger, tempDir, tokenProxy } from './helpers/plugins.js';
import { echoTarget } from './helpers/targets.js';

const now = (): number => Math.floor(Date.now() / 1000);
const CLAIMS = { host: '10.1.2.3', port: 5901 };
const TARGET = { kind: 'tcp', host: '10.1.2.3', port: 5901 };

function sign(claims: Record<string, unknown>, alg: string, key: KeyObject | Uint8Array): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(key);
}

async function plugin(keyText: string): Promise<{ plugin: TokenPlugin; log: string[] }> {
  const file = path.join(tempDir(), 'key');
  writeFileSync(file, keyText);
  const logger = recordingLogger();
  return { plugin: await loadTokenPlugin('JWTTokenApi', file, { logger }), log: logger.lines };
}

describe('JWTTokenApi', () => {
  const secret = randomBytes(32);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (k: KeyObject): string =>
    k.export({ type: k.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }) as string;

  it('HS256 with the secret file holding the base64url JWK k value (trailing newline ignored)', async () => {
    const { plugin: p } = await plugin(secret.toString('base64url') + '\n');
    expect(await p.lookup(await sign(CLAIMS, 'HS256', secret))).toEqual(TARGET);
    expect(await p.lookup(await sign({ host: 'h', port: '22' }, 'HS512', secret))).toEqual({
      kind: 'tcp',
      host: 'h',
      port: 22,
    });
  });

  it('RS256 and ES256, verified with a public or a private PEM key', async () => {
    for (const [pair, alg] of [
      [rsa, 'RS256'],
      [rsa, 'PS256'],
      [ec, 'ES256'],
    ] as const) {
      const token = await sign(CLAIMS, alg, pair.privateKey);
      expect(await (await plugin(pem(pair.publicKey))).plugin.lookup(token)).toEqual(TARGET);
      expect(await (await plugin(pem(pair.privateKey))).plugin.lookup(token)).toEqual(TARGET);
    }
  });

  it('rejects (as unknown, with a log line) expired, not yet valid, wrongly signed and malformed tokens', async () => {
    const { plugin: p, log } = await plugin(secret.toString('base64url'));
    const rejected = [
      await sign({ ...CLAIMS, exp: now() - 10 }, 'HS256', secret),
      await sign({ ...CLAIMS, nbf: now() + 600 }, 'HS256', secret),
      await sign(CLAIMS, 'HS256', randomBytes(32)),
      await sign(CLAIMS, 'RS256', rsa.privateKey),
      'not.a.jwt',
      'garbage',
      await sign({ port: 5901 }, 'HS256', secret), // no host claim
    ];
    for (const token of rejected) expect(await p.lookup(token)).toBeUndefined();
    expect(log).toEqual([
      expect.stringMatching(/^JWTTokenApi: token rejected: .*"exp"/),
      expect.stringMatching(/^JWTTokenApi: token rejected: .*"nbf"/),
      expect.stringMatching(/^JWTTokenApi: token rejected: signature verification failed/),
      expect.stringMatching(/^JWTTokenApi: token rejected: /),
      expect.stringMatching(/^JWTTokenApi: token rejected: /),
      expect.stringMatching(/^JWTTokenApi: token rejected: /),
      'JWTTokenApi: token has no valid host and port claims',
    ]);
    expect(await p.lookup(await sign({ ...CLAIMS, exp: now() + 600, nbf: now() - 5 }, 'HS256', secret))).toEqual(
      TARGET,
    );
  });

  it('JWE: a signed token encrypted with the same key (dir + A256GCM, and RSA-OAEP with a private PEM)', async () => {
    const inner = await sign(CLAIMS, 'HS256', secret);
    const dir = await new CompactEncrypt(new TextEncoder().encode(inner))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(secret);
    expect(await (await plugin(secret.toString('base64url'))).plugin.lookup(dir)).toEqual(TARGET);

    const innerRsa = await sign(CLAIMS, 'RS256', rsa.privateKey);
    const oaep = await new CompactEncrypt(new TextEncoder().encode(innerRsa))
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A128GCM' })
      .encrypt(rsa.publicKey);
    expect(await (await plugin(pem(rsa.privateKey))).plugin.lookup(oaep)).toEqual(TARGET);
    const publicOnly = await plugin(pem(rsa.publicKey));
    expect(await publicOnly.plugin.lookup(oaep)).toBeUndefined();
    expect(publicOnly.log).toEqual([expect.stringMatching(/token rejected: a public key cannot decrypt a JWE/)]);

    const wrongKey = await new CompactEncrypt(new TextEncoder().encode(inner))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(randomBytes(32));
    expect(await (await plugin(secret.toString('base64url'))).plugin.lookup(wrongKey)).toBeUndefined();
  });

  it('end to end: a valid token is proxied, an expired one gets 404, a missing key file 502', async () => {
    const echo = await echoTarget();
    defer(() => echo.close());
    const dir = tempDir();
    const keyFile = path.join(dir, 'key');
    writeFileSync(keyFile, secret.toString('base64url'));
    const { port, url } = await tokenProxy(
      await loadTokenPlugin('JWTTokenApi', keyFile, { logger: recordingLogger() }),
    );
    const good = await sign({ host: '127.0.0.1', port: echo.port }, 'HS256', secret);
    const client = await openClient(`${url}/?token=${good}`);
    client.ws.send(Buffer.from('jwt'));
    expect((await client.waitForBytes(3)).toString()).toBe('jwt');
    client.ws.close();
    const expired = await sign({ host: '127.0.0.1', port: echo.port, exp: now() - 1 }, 'HS256', secret);
    expect((await attemptUpgrade(port, `/?token=${expired}`)).status).toBe(404);
    const missing = await loadTokenPlugin('JWTTokenApi', path.join(dir, 'gone'), { logger: recordingLogger() });
    const broken = await tokenProxy(missing);
    expect((await attemptUpgrade(broken.port, `/?token=${good}`)).status).toBe(502);
  });
});
