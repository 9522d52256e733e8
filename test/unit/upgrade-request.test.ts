// The checks every upgrade request passes before anything acts on it (RFC 7230 Host, RFC 6455
// 4.2.1 method, version, Upgrade/Connection, key), on plain request fields.

import { describe, expect, it } from '@jest/globals';
import {
  checkUpgradeRequest,
  isValidHost,
  supportedVersions,
  type UpgradeRequestFields,
} from '../../src/protocol/upgrade-request.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const GOOD: [string, string][] = [
  ['Host', 'example.com:6080'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', KEY],
  ['Sec-WebSocket-Version', '13'],
];

/** Request fields as Node's parser gives them: the first value of each header, raw pairs. */
function fields(
  pairs: [string, string][] = GOOD,
  { method = 'GET', url = '/websockify', version = [1, 1] } = {},
): UpgradeRequestFields {
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) headers[name.toLowerCase()] ??= value;
  return {
    method,
    url,
    httpVersionMajor: version[0]!,
    httpVersionMinor: version[1]!,
    headers,
    rawHeaders: pairs.flat(),
  };
}
const without = (name: string): [string, string][] => GOOD.filter(([n]) => n !== name);
const replaced = (name: string, value: string): [string, string][] =>
  GOOD.map(([n, v]): [string, string] => (n === name ? [n, value] : [n, v]));

describe('checkUpgradeRequest', () => {
  it('a valid RFC 6455 request passes, also with Connection listing more tokens', () => {
    expect(checkUpgradeRequest(fields(), { legacy: false })).toBeUndefined();
    expect(
      checkUpgradeRequest(fields(replaced('Connection', 'keep-alive, Upgrade')), { legacy: false }),
    ).toBeUndefined();
    expect(checkUpgradeRequest(fields(GOOD, { url: 'ws://example.com/x?y' }), { legacy: false })).toBeUndefined();
  });

  it.each([
    ['POST', fields(GOOD, { method: 'POST' }), 405, 'A WebSocket upgrade must be a GET', { Allow: 'GET' }],
    ['an asterisk target', fields(GOOD, { url: '*' }), 400, 'Invalid request target for an upgrade', undefined],
    ['an ftp: target', fields(GOOD, { url: 'ftp://h/' }), 400, 'Invalid request target for an upgrade', undefined],
    ['HTTP/2.0', fields(GOOD, { version: [2, 0] }), 505, 'HTTP/2.0 is not supported', undefined],
    [
      'HTTP/1.0',
      fields(GOOD, { version: [1, 0] }),
      400,
      'A WebSocket upgrade needs HTTP/1.1 or later, got HTTP/1.0',
      undefined,
    ],
    ['no Host', fields(without('Host')), 400, 'Missing Host header', undefined],
    ['two Hosts', fields([...GOOD, ['Host', 'other']]), 400, 'More than one Host header', undefined],
    ['a bad Host', fields(replaced('Host', 'a b')), 400, 'Invalid Host header', undefined],
    ['Upgrade: h2c', fields(replaced('Upgrade', 'h2c')), 400, 'Upgrade header must be websocket', undefined],
    [
      'Connection: keep-alive',
      fields(replaced('Connection', 'keep-alive')),
      400,
      'Connection header must include Upgrade',
      undefined,
    ],
    [
      'a bad key',
      fields(replaced('Sec-WebSocket-Key', 'abc')),
      400,
      'Missing or invalid Sec-WebSocket-Key header',
      undefined,
    ],
    ['no key', fields(without('Sec-WebSocket-Key')), 400, 'Missing or invalid Sec-WebSocket-Key header', undefined],
  ])('%s: %i', (_what, req, status, message, headers) => {
    const problem = checkUpgradeRequest(req, { legacy: true });
    expect(problem).toEqual(headers ? { status, message, headers } : { status, message });
  });

  it('versions: 13 always, 8 only with legacy on; anything else is 426 naming what is spoken', () => {
    const v = (version: string, legacy: boolean) =>
      checkUpgradeRequest(fields(replaced('Sec-WebSocket-Version', version)), { legacy });
    expect(v('8', true)).toBeUndefined();
    expect(v('8', false)).toEqual({
      status: 426,
      message: 'Unsupported Sec-WebSocket-Version: "8"',
      headers: { 'Sec-WebSocket-Version': '13' },
    });
    for (const odd of ['13.0', '0xd', '+13', ' 13', '7']) {
      expect(v(odd, true)).toMatchObject({ status: 426, headers: { 'Sec-WebSocket-Version': '13, 8' } });
    }
  });

  it('neither version nor key: a Hixie request with legacy on, else 426 for the missing version', () => {
    const bare = fields(without('Sec-WebSocket-Key').filter(([n]) => n !== 'Sec-WebSocket-Version'));
    expect(checkUpgradeRequest(bare, { legacy: true })).toBeUndefined();
    expect(checkUpgradeRequest(bare, { legacy: false })).toEqual({
      status: 426,
      message: 'Missing Sec-WebSocket-Version header',
      headers: { 'Sec-WebSocket-Version': '13' },
    });
  });

  it('supportedVersions names what the 426 answer lists', () => {
    expect(supportedVersions(true)).toBe('13, 8');
    expect(supportedVersions(false)).toBe('13');
  });
});

describe('isValidHost', () => {
  it.each(['example.com', 'example.com:6080', '127.0.0.1', '[::1]', '[::1]:80', 'h:', 'a%41b', 'x_y~z'])(
    '%p is valid',
    (host) => {
      expect(isValidHost(host)).toBe(true);
    },
  );

  it.each(['', 'a b', 'h:99999', 'h:1:2', '[zz]', '[::1', '::1', 'h/x', 'h@x'])('%p is not', (host) => {
    expect(isValidHost(host)).toBe(false);
  });
});
