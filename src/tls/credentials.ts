// The server's TLS credentials: the certificate, key and client CA files read and checked (a
// secure context is built from them), and read again when the files change on disk
// (certificate rotation without a restart) or on request (SIGHUP). A change that does not load (half-written file, key
// not matching the certificate yet) is logged and the previous credentials stay in use.

import { EventEmitter } from 'node:events';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import * as tls from 'node:tls';
import type { ResolvedTls } from '../config/options.js';
import { WebsockifyError, type OptionNamer } from '../errors/websockify-error.js';
import type { Logger } from '../log/logger.js';

/** The certificate, key or password could not be used; `option` is the key at fault (`tls.key`). */
export class TlsSetupError extends WebsockifyError {
  constructor(option: string, wording: (name: OptionNamer) => string) {
    super('ERR_TLS_SETUP', wording, { option });
    this.name = 'TlsSetupError';
  }
}

/** Quiet time after a file change before it is read, so a file being written is read whole. */
const SETTLE_MS = 200;

function readPem(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TlsSetupError(option, (name) => `cannot read '${file}' (${name(option)}): ${e.code ?? e.message}`);
  }
}

/** Which option an OpenSSL error is about, from its message. */
function culprit(message: string, settings: ResolvedTls): string {
  if (/bad decrypt|bad password|passphrase|interrupted or cancelled/i.test(message)) return 'tls.keyPassword';
  if (/cipher/i.test(message)) return 'tls.ciphers';
  if (/key values mismatch|private key/i.test(message) && settings.keyFile) return 'tls.key';
  return 'tls.cert';
}

/** Reads the files and checks that they make a server context; throws TlsSetupError. */
export function loadCredentials(settings: ResolvedTls): tls.SecureContextOptions {
  const cert = readPem(settings.certFile, 'tls.cert');
  const key = settings.keyFile ? readPem(settings.keyFile, 'tls.key') : cert;
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    const { keyFile, certFile } = settings;
    throw new TlsSetupError(keyFile ? 'tls.key' : 'tls.cert', (name) =>
      keyFile
        ? `no private key in '${keyFile}' (${name('tls.key')})`
        : `no private key in '${certFile}' (${name('tls.cert')}); give ${name('tls.key')}`,
    );
  }
  const ca = settings.verifyClient && settings.caFile ? readPem(settings.caFile, 'tls.cafile') : undefined;
  const options: tls.SecureContextOptions = {
    cert,
    key,
    // An empty passphrase rather than none: OpenSSL must fail, never prompt on the terminal.
    passphrase: settings.keyPassword ?? '',
    minVersion: settings.minVersion,
    ...(settings.ciphers !== undefined ? { ciphers: settings.ciphers } : {}),
    ...(ca !== undefined ? { ca } : {}),
  };
  try {
    tls.createSecureContext(options);
    return options;
  } catch (err) {
    const e = err as Error & { reason?: string };
    const message = e.reason ?? e.message;
    const option = culprit(message, settings);
    const files = settings.keyFile ? `'${settings.certFile}' and '${settings.keyFile}'` : `'${settings.certFile}'`;
    throw new TlsSetupError(
      option,
      (name) => `cannot use the TLS certificate and key in ${files} (${name(option)}): ${message}`,
    );
  }
}

export interface TlsCredentialsEvents {
  /** The files changed and load: new connections should use these. */
  reload: [options: tls.SecureContextOptions];
}

/** The current credentials, replaced when the certificate, key or CA file changes. */
export class TlsCredentials extends EventEmitter<TlsCredentialsEvents> {
  private options: tls.SecureContextOptions;
  private readonly files: string[];
  private watching = false;
  private settleTimer: NodeJS.Timeout | undefined;

  /** Loads the files now; throws TlsSetupError when they cannot be used. */
  constructor(
    readonly settings: ResolvedTls,
    private readonly logger: Logger,
  ) {
    super();
    this.options = loadCredentials(settings);
    const { certFile, keyFile, caFile, verifyClient } = settings;
    this.files = [certFile, ...(keyFile ? [keyFile] : []), ...(verifyClient && caFile ? [caFile] : [])];
  }

  /** Options for tls.createSecureContext (or tls.Server) with the current files' contents. */
  get current(): tls.SecureContextOptions {
    return this.options;
  }

  /** Starts checking the files for changes (stat polling: it follows renames and symlinks). */
  watch(): void {
    const { reloadIntervalMs } = this.settings;
    if (this.watching || reloadIntervalMs === 0) return;
    this.watching = true;
    for (const file of this.files) watchFile(file, { interval: reloadIntervalMs, persistent: false }, this.onChange);
  }

  stop(): void {
    if (!this.watching) return;
    this.watching = false;
    clearTimeout(this.settleTimer);
    for (const file of this.files) unwatchFile(file, this.onChange);
  }

  private readonly onChange = (): void => {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.reload(), SETTLE_MS);
    this.settleTimer.unref();
  };

  /** Reads the files now (SIGHUP): new handshakes use them; if they do not load, keeps the old. */
  reload(): void {
    try {
      this.options = loadCredentials(this.settings);
      this.emit('reload', this.options);
      this.logger.info(`TLS certificate reloaded from '${this.settings.certFile}'`);
    } catch (err) {
      this.logger.warn(`TLS files changed but cannot be used (keeping the previous ones): ${(err as Error).message}`);
    }
  }
}
