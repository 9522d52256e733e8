// Choosing the subprotocol from a Sec-WebSocket-Protocol offer: binary preferred, base64 for old
// clients, nothing offered means binary; offers are trimmed (unlike the reference).

import { describe, expect, it } from '@jest/globals';
import { selectSubprotocol } from '../../src/protocol/subprotocol.js';

describe('selectSubprotocol', () => {
  it.each([
    [undefined, 'binary', undefined],
    ['', 'binary', undefined],
    [' , ,', 'binary', undefined],
    ['binary', 'binary', 'binary'],
    ['base64', 'base64', 'base64'],
    ['base64, binary', 'binary', 'binary'],
    ['binary,base64', 'binary', 'binary'],
    ['  base64  ', 'base64', 'base64'],
    ['chat, base64', 'base64', 'base64'],
  ])('%p: encoding %p, echoing %p', (header, encoding, protocol) => {
    expect(selectSubprotocol(header)).toEqual({ ok: true, encoding, protocol });
  });

  it('an offer without binary or base64 is refused, naming what was offered', () => {
    expect(selectSubprotocol('chat, superchat')).toEqual({
      ok: false,
      reason: "Client must support 'binary' or 'base64' protocol (offered: chat, superchat)",
    });
  });

  it('protocol names are case-sensitive tokens', () => {
    expect(selectSubprotocol('Binary').ok).toBe(false);
    expect(selectSubprotocol('BASE64').ok).toBe(false);
  });
});
