// Certificates for the TLS tests, made by the real `openssl` command in a temporary directory:
// a private CA, server certificates for localhost/127.0.0.1 signed by it (each with its own
// serial number), client certificates signed by it and by a second, untrusted CA, and an
// encrypted copy of a server key; and which certificate a TLS port serves.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { withTimeout } from './wait.js';

const run = promisify(execFile);

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir, timeout: 30000 });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface Leaf {
  cert: string;
  key: string;
  /** The certificate followed by its key, in one file (the reference's self.pem layout). */
  combined: string;
  /** The serial number as Node's getPeerCertificate() spells it (upper-case hex). */
  serial: string;
}

export interface TestPki {
  dir: string;
  /** The private CA's certificate. */
  ca: string;
  /** A second CA nobody trusts. */
  otherCa: string;
  server: Leaf;
  /** Another certificate for the same names, to rotate to. */
  rotated: Leaf;
  client: Leaf;
  /** A client certificate signed by the untrusted CA. */
  strangerClient: Leaf;
  /** `server.key` encrypted with the passphrase `KEY_PASSWORD`. */
  encryptedKey: string;
  remove(): Promise<void>;
}

export const KEY_PASSWORD = 'correct horse';

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    'req', '-x509', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2',
    '-subj', `/CN=websockify test ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
}

async function makeLeaf(dir: string, name: string, ca: string, serial: number, usage: string): Promise<Leaf> {
  const ext = `${name}.ext`;
  const names = usage === 'serverAuth' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' : '';
  await writeFile(path.join(dir, ext), `${names}basicConstraints=CA:FALSE\nextendedKeyUsage=${usage}\n`);
  await openssl(dir, [
    'req',
    '-new',
    ...EC_KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  await openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
    '-set_serial', String(serial), '-days', '2', '-extfile', ext, '-out', `${name}.pem`,
  ]); // prettier-ignore
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  const combined = path.join(dir, `${name}-combined.pem`);
  await writeFile(combined, (await readFile(cert, 'utf8')) + (await readFile(key, 'utf8')));
  return { cert, key, combined, serial: serial.toString(16).toUpperCase().padStart(4, '0') };
}

export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-tls-'));
  await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'other-ca')]);
  const [server, rotated, client, strangerClient] = await Promise.all([
    makeLeaf(dir, 'server', 'ca', 0x1001, 'serverAuth'),
    makeLeaf(dir, 'rotated', 'ca', 0x1002, 'serverAuth'),
    makeLeaf(dir, 'client', 'ca', 0x2001, 'clientAuth'),
    makeLeaf(dir, 'stranger', 'other-ca', 0x3001, 'clientAuth'),
  ]);
  const encryptedKey = path.join(dir, 'server-encrypted.key');
  await openssl(dir, ['pkey', '-in', server.key, '-aes256', '-passout', `pass:${KEY_PASSWORD}`, '-out', encryptedKey]);
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    otherCa: path.join(dir, 'other-ca.pem'),
    server,
    rotated,
    client,
    strangerClient,
    encryptedKey,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Copies the server's certificate and key to `live.pem` and `live.key` in `dir`: files a test
 * may then replace under a running server (rotation, SIGHUP reloads).
 */
export async function livePair(pki: TestPki, dir: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, 'live.pem');
  const key = path.join(dir, 'live.key');
  await writeFile(cert, await readFile(pki.server.cert));
  await writeFile(key, await readFile(pki.server.key));
  return { cert, key };
}

/** The serial number of the certificate that `port` on 127.0.0.1 serves (verified against `ca`). */
export function servedSerial(port: number, ca: string): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca }, () => {
        resolve(s.getPeerCertificate().serialNumber);
        s.end();
      });
      s.on('error', reject);
    }),
    10000,
    'TLS connection',
  );
}
