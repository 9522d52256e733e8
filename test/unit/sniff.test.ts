// First-byte classification of a new connection: TLS, Flash's policy request, or plain HTTP,
// judged from as many bytes as have arrived.

import { describe, expect, it } from '@jest/globals';
import { POLICY_REQUEST } from '../../src/server/flash-policy.js';
import { classifyFirstBytes } from '../../src/server/sniff.js';

describe('classifyFirstBytes', () => {
  it('a TLS handshake record (0x16) or an SSLv2-style ClientHello (0x80) is TLS, from one byte', () => {
    expect(classifyFirstBytes(Buffer.from([0x16]))).toBe('tls');
    expect(classifyFirstBytes(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]))).toBe('tls');
    expect(classifyFirstBytes(Buffer.from([0x80, 0x2e]))).toBe('tls');
  });

  it('anything else that does not start with < is plain, from one byte', () => {
    for (const first of ['G', 'P', 'O', '\r', ' ', '\x00', '\xff']) {
      expect(classifyFirstBytes(Buffer.from(first, 'latin1'))).toBe('plain');
    }
    expect(classifyFirstBytes(Buffer.from('GET / HTTP/1.1\r\n'))).toBe('plain');
  });

  it('the policy request is recognised whole; each strict prefix of it is undecided', () => {
    expect(classifyFirstBytes(POLICY_REQUEST)).toBe('flash-policy');
    expect(classifyFirstBytes(Buffer.concat([POLICY_REQUEST, Buffer.from([0])]))).toBe('flash-policy');
    for (let n = 1; n < POLICY_REQUEST.length; n++) {
      expect(classifyFirstBytes(POLICY_REQUEST.subarray(0, n))).toBeUndefined();
    }
  });

  it('bytes that stop matching the policy request are plain as soon as they differ', () => {
    expect(classifyFirstBytes(Buffer.from('<p'))).toBeUndefined();
    expect(classifyFirstBytes(Buffer.from('<x'))).toBe('plain');
    expect(classifyFirstBytes(Buffer.from('<policy-file-request/?'))).toBe('plain');
    expect(classifyFirstBytes(Buffer.from('<POLICY-FILE-REQUEST/>'))).toBe('plain');
  });
});
