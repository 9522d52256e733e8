// The RFC 6455 side of an upgrade: choosing the subprotocol, then writing the 101 (with
// Sec-WebSocket-Accept and the chosen protocol), after which the socket becomes an
// Rfc6455Client on our own data path. The request's method, Host, Upgrade, Connection, version
// and key were checked before (checkUpgradeRequest in proxy.ts).

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { selectSubprotocol } from '../protocol/subprotocol.js';
import { switchingProtocols } from '../protocol/switching-protocols.js';
import type { PendingHandshake, HandshakeRefusal, UpgradeHandler } from './handshake.js';
import { Rfc6455Client, type Rfc6455Options } from './rfc6455-client.js';

export class Rfc6455Upgrade implements UpgradeHandler {
  /** The client's limits (message size, fragments) are Rfc6455Client's. */
  constructor(private readonly opts: Rfc6455Options) {}

  begin(req: IncomingMessage, socket: Duplex, head: Buffer): PendingHandshake | HandshakeRefusal {
    const choice = selectSubprotocol(req.headers['sec-websocket-protocol']);
    if (!choice.ok) return { refused: choice.reason };
    const key = req.headers['sec-websocket-key']!;
    return {
      encoding: choice.encoding,
      legacy: undefined,
      heartbeat: true,
      // The session starts in the same tick as the 101.
      complete: () => {
        // The client hung up or half-closed while the target was resolved or auth ran.
        if (!socket.readable || !socket.writable) {
          socket.destroy();
          return 'the client went away before the 101';
        }
        socket.write(switchingProtocols(key, choice.protocol));
        return { client: new Rfc6455Client(socket, head, this.opts) };
      },
    };
  }
}
