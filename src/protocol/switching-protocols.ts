// The server's answer to an RFC 6455 opening handshake (section 4.2.2): the 101 response head,
// with Sec-WebSocket-Accept (the key and the protocol's GUID, hashed with SHA-1) and the chosen
// subprotocol. Pure: the request was checked before (upgrade-request.ts, subprotocol.ts).

import { createHash } from 'node:crypto';

/** RFC 6455 1.3: the GUID appended to the client's key. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a client's Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** The 101 response head, blank line included; `protocol` is echoed when the client offered one. */
export function switchingProtocols(key: string, protocol: string | undefined): string {
  const chosen = protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n${chosen}\r\n`
  );
}
