// TLS toward the target (--ssl-target): the connected TCP (or unix) socket is wrapped as a TLS
// client, with SNI for host names and the certificate verified against Node's CA list, plus a
// private CA when one is given (--ssl-target-cafile). A handshake that fails or takes too long
// rejects with an error that says why.

import * as net from 'node:net';
import * as tls from 'node:tls';

export interface TargetTls {
  /** PEM text of a CA trusted in addition to Node's root CAs. */
  ca?: string;
  /** Where `ca` came from, for messages. */
  caFile?: string;
}

/** A target that accepts TCP but never finishes the TLS handshake is given up after this. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * Starts TLS on a connected socket. `host` is the name the certificate must match: a host name
 * is also sent as SNI; an address literal is checked against the certificate's IP entries.
 */
export function secureTarget(
  socket: net.Socket,
  host: string,
  settings: TargetTls,
  signal: AbortSignal,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secured = tls.connect({
      socket,
      host,
      ...(net.isIP(host) ? {} : { servername: host }),
      ...(settings.ca ? { ca: [...tls.rootCertificates, settings.ca] } : {}),
      rejectUnauthorized: true,
    });
    const fail = (err: Error): void => {
      cleanup();
      secured.destroy();
      socket.destroy();
      reject(err);
    };
    const onError = (err: NodeJS.ErrnoException & { reason?: string }): void => {
      const text = err.reason ?? err.message.trim();
      const why = err.code && !text.includes(err.code) ? `${text} (${err.code})` : text;
      fail(new Error(`TLS handshake with the target failed: ${why}`));
    };
    const onAbort = (): void => fail(signal.reason as Error);
    const timer = setTimeout(
      () => fail(new Error(`TLS handshake with the target took over ${HANDSHAKE_TIMEOUT_MS / 1000} s`)),
      HANDSHAKE_TIMEOUT_MS,
    );
    const cleanup = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      secured.off('error', onError);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    secured.once('error', onError);
    secured.once('secureConnect', () => {
      cleanup();
      resolve(secured);
    });
  });
}
