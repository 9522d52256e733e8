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
 * Returns a function that abandons the handshake.
 */
export function secureTarget(
  socket: net.Socket,
  host: string,
  settings: TargetTls,
  done: (err: Error | undefined, secured?: tls.TLSSocket) => void,
): () => void {
  const secured = tls.connect({
    socket,
    host,
    ...(net.isIP(host) ? {} : { servername: host }),
    ...(settings.ca ? { ca: [...tls.rootCertificates, settings.ca] } : {}),
    rejectUnauthorized: true,
  });
  const cleanup = (): void => {
    clearTimeout(timer);
    secured.off('error', onError);
    secured.off('secureConnect', onSecure);
  };
  const drop = (): void => {
    cleanup();
    secured.on('error', () => {});
    secured.destroy();
    socket.destroy();
  };
  const fail = (err: Error): void => {
    drop();
    done(err);
  };
  const onError = (err: NodeJS.ErrnoException & { reason?: string }): void => {
    const text = err.reason ?? err.message.trim();
    const why = err.code && !text.includes(err.code) ? `${text} (${err.code})` : text;
    fail(new Error(`TLS handshake with the target failed: ${why}`));
  };
  const onSecure = (): void => {
    cleanup();
    done(undefined, secured);
  };
  const timer = setTimeout(
    () => fail(new Error(`TLS handshake with the target took over ${HANDSHAKE_TIMEOUT_MS / 1000} s`)),
    HANDSHAKE_TIMEOUT_MS,
  );
  secured.once('error', onError);
  secured.once('secureConnect', onSecure);
  return drop;
}
