// The legacy Hixie-75/76 side of an upgrade, which the proxy core hands every request that is
// not RFC 6455 (when legacy protocols are on): the Hixie request checks, reading the Hixie-76
// key3 that follows the headers while the target is looked up, and the handshake's answer on a
// HixieClient. Hixie carries text only: its sessions use base64 and have no heartbeat.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { checkHixieRequest, HIXIE76_KEY3_LENGTH, hixieVersion, type HixieVersion } from '../protocol/hixie.js';
import type { HandshakeRefusal, PendingHandshake, UpgradeHandler } from './handshake.js';
import { HixieClient, type HixieClientOptions, type HixieHandshakeBytes } from './hixie-client.js';

export interface HixieUpgradeOptions extends HixieClientOptions {
  /** How long a Hixie-76 client may take to send the key bytes after its request. */
  handshakeTimeoutMs: number;
}

export class HixieUpgrade implements UpgradeHandler {
  constructor(private readonly opts: HixieUpgradeOptions) {}

  /** Whether `req` (which passed the common upgrade checks) is a Hixie request for this handler. */
  static handles(req: IncomingMessage): boolean {
    return hixieVersion(req) !== undefined;
  }

  begin(req: IncomingMessage, socket: Duplex, head: Buffer): PendingHandshake | HandshakeRefusal {
    const version = hixieVersion(req)!;
    const problem = checkHixieRequest(req, version);
    if (problem) return { refused: problem };
    // Hixie-76 sends 8 more bytes after the headers: read them while the target is looked up.
    const key3 = readHixieKey3(version, socket, head, this.opts.handshakeTimeoutMs);
    return {
      encoding: 'base64',
      legacy: version,
      heartbeat: false,
      complete: async () => {
        const bytes = await key3;
        if (!bytes) return `${version} client sent no key3 within the handshake deadline`;
        const client = new HixieClient(socket, this.opts);
        return { client, accept: () => client.accept(req, version, bytes) };
      },
    };
  }
}

/**
 * Collects what follows the request headers: for Hixie-76 the 8 bytes of key3, from `head` and
 * then from the socket. Resolves undefined if the client closes or `timeoutMs` passes first.
 * The socket is left paused.
 */
export function readHixieKey3(
  version: HixieVersion,
  socket: Duplex,
  head: Buffer,
  timeoutMs: number,
): Promise<HixieHandshakeBytes | undefined> {
  const need = version === 'hixie-76' ? HIXIE76_KEY3_LENGTH : 0;
  const split = (bytes: Buffer): HixieHandshakeBytes => ({ key3: bytes.subarray(0, need), rest: bytes.subarray(need) });
  if (head.length >= need) return Promise.resolve(split(head));
  return new Promise((resolve) => {
    let received = head;
    const finish = (result: HixieHandshakeBytes | undefined): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= need) finish(split(received));
    };
    const onGone = (): void => finish(undefined);
    const timer = setTimeout(onGone, timeoutMs);
    socket.on('data', onData);
    socket.on('end', onGone);
    socket.on('close', onGone);
    socket.resume();
  });
}
