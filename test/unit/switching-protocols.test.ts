// The 101 response head of an RFC 6455 handshake: the accept key of the RFC's own example, the
// header lines in order, and the subprotocol line only when one was chosen.

import { describe, expect, it } from '@jest/globals';
import { acceptKey, switchingProtocols } from '../../src/protocol/switching-protocols.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

describe('switchingProtocols', () => {
  it('computes the accept key of RFC 6455 section 1.3', () => {
    expect(acceptKey(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('writes the 101 head without a subprotocol line when none was offered', () => {
    expect(switchingProtocols(KEY, undefined)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    );
  });

  it('echoes the chosen subprotocol', () => {
    expect(switchingProtocols(KEY, 'base64')).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: base64\r\n\r\n',
    );
  });
});
