// The RFC 6455 side of an upgrade: choosing the subprotocol, then the handshake by `ws` (its
// validation, the 101 with Sec-WebSocket-Accept and the chosen protocol), after which the socket
// becomes an Rfc6455Client on our own data path.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { selectSubprotocol, type DataEncoding } from '../protocol/subprotocol.js';
import type { HandshakeDone, HandshakeRefusal, PendingHandshake, UpgradeHandler } from './handshake.js';
import { Rfc6455Client, type Rfc6455Options } from './rfc6455-client.js';

/**
 * The WebSocket class `ws` hands the upgraded socket to: it keeps the socket and head for our
 * own data path instead of starting ws's receiver and sender.
 */
class HandshakeOnly extends WebSocket {
  socket: Duplex | undefined;
  head: Buffer | undefined;
  setSocket(socket: Duplex, head: Buffer): void {
    this.socket = socket;
    this.head = head;
  }
}

const kProtocol = Symbol('websockify.protocol');
type TaggedRequest = IncomingMessage & { [kProtocol]?: DataEncoding | undefined };

export class Rfc6455Upgrade implements UpgradeHandler {
  private readonly wss: WebSocketServer;

  /** ws only does the handshake, so its receiver's limits do not apply: Rfc6455Client gets them. */
  constructor(private readonly opts: Rfc6455Options) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      handleProtocols: (_offered, req) => (req as TaggedRequest)[kProtocol] ?? false,
      WebSocket: HandshakeOnly,
    });
  }

  begin(req: IncomingMessage, socket: Duplex, head: Buffer): PendingHandshake | HandshakeRefusal {
    const choice = selectSubprotocol(req.headers['sec-websocket-protocol']);
    if (!choice.ok) return { refused: choice.reason };
    (req as TaggedRequest)[kProtocol] = choice.protocol;
    return {
      encoding: choice.encoding,
      legacy: undefined,
      heartbeat: true,
      // ws answers synchronously (no verifyClient): the session starts in the same tick as the 101.
      complete: () => {
        let done: HandshakeDone | string = 'the RFC 6455 handshake did not complete';
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          const taken = ws as HandshakeOnly;
          done = { client: new Rfc6455Client(taken.socket!, taken.head!, this.opts) };
        });
        return done;
      },
    };
  }
}
