// The fast path's request reader: what it takes (and reads exactly as Node's parser would), and
// everything it leaves to Node's parser, valid or not.

import { describe, expect, it } from '@jest/globals';
import { readUpgradeHead } from '../../src/protocol/upgrade-head.js';

const LINES = [
  'GET /websockify?token=vm1 HTTP/1.1',
  'Host: example.com:6080',
  'Upgrade: websocket',
  'Connection: keep-alive, Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Protocol: binary',
];

/** A request of `lines` (a header line replaced by a pattern's match, or added). */
function request(lines: string[] = LINES, after = ''): Buffer {
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + after, 'latin1');
}

function withLine(line: string): Buffer {
  return request([...LINES, line]);
}

function replaced(pattern: RegExp, line: string): Buffer {
  return request(LINES.map((l) => (pattern.test(l) ? line : l)));
}

describe('readUpgradeHead', () => {
  it('reads the request target, the headers as received and the length of the head', () => {
    const bytes = request(LINES, '\x82\x00');
    const head = readUpgradeHead(bytes, 16384);
    expect(head).toEqual({
      url: '/websockify?token=vm1',
      rawHeaders: [
        'Host',
        'example.com:6080',
        'Upgrade',
        'websocket',
        'Connection',
        'keep-alive, Upgrade',
        'Sec-WebSocket-Key',
        'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version',
        '13',
        'Sec-WebSocket-Protocol',
        'binary',
      ],
      length: bytes.length - 2,
    });
  });

  it('trims the space after the colon, keeps empty values and repeated headers in order', () => {
    const head = readUpgradeHead(request([...LINES, 'X-A:\t  one', 'X-Empty:', 'x-a: two']), 16384);
    expect(head?.rawHeaders.slice(-6)).toEqual(['X-A', 'one', 'X-Empty', '', 'x-a', 'two']);
  });

  it('takes a head exactly at the header size limit, not one byte over', () => {
    const bytes = request();
    expect(readUpgradeHead(bytes, bytes.length)).toBeDefined();
    expect(readUpgradeHead(bytes, bytes.length - 1)).toBeUndefined();
  });

  const LEFT_TO_NODE: [string, Buffer][] = [
    ['an incomplete head', Buffer.from(LINES.join('\r\n') + '\r\n', 'latin1')],
    ['a POST', replaced(/^GET /, 'POST /websockify HTTP/1.1')],
    ['HTTP/1.0', replaced(/^GET /, 'GET / HTTP/1.0')],
    ['HTTP/2.0 in the request line', replaced(/^GET /, 'GET / HTTP/2.0')],
    ['an absolute-form target', replaced(/^GET /, 'GET http://example.com/ HTTP/1.1')],
    ['an asterisk target', replaced(/^GET /, 'GET * HTTP/1.1')],
    ['a space in the target', replaced(/^GET /, 'GET /a b HTTP/1.1')],
    ['a quote in the target', replaced(/^GET /, 'GET /a"b HTTP/1.1')],
    ['a fragment in the target', replaced(/^GET /, 'GET /a#b HTTP/1.1')],
    ['brackets in the target', replaced(/^GET /, 'GET /[a] HTTP/1.1')],
    ['two spaces before the version', replaced(/^GET /, 'GET /  HTTP/1.1')],
    [
      'a bare LF ending a header line',
      Buffer.from(request().toString('latin1').replace('websocket\r\n', 'websocket\n'), 'latin1'),
    ],
    ['a folded header line', withLine(' folded')],
    ['a space before the colon', withLine('X-A : 1')],
    ['an empty header name', withLine(': 1')],
    ['a header line without a colon', withLine('X-A')],
    ['a non-ASCII header value', withLine('X-A: caf\xe9')],
    ['a control byte in a value', withLine('X-A: a\x01b')],
    ['a bare CR in a value', withLine('X-A: a\rb')],
    ['trailing space in a value', withLine('X-A: a ')],
    ['a value of spaces only', withLine('X-A:   ')],
    ['Content-Length', withLine('Content-Length: 0')],
    ['Transfer-Encoding', withLine('Transfer-Encoding: chunked')],
    ['two Upgrade headers', withLine('Upgrade: websocket')],
    ['two Connection headers', withLine('Connection: Upgrade')],
    ['two Host headers', withLine('Host: example.com')],
    ['no Host', request(LINES.filter((l) => !l.startsWith('Host')))],
    ['no Upgrade', request(LINES.filter((l) => !l.startsWith('Upgrade')))],
    ['Connection without the upgrade token', replaced(/^Connection/, 'Connection: keep-alive, upgraded')],
    ['more than 64 header lines', request([...LINES, ...Array.from({ length: 60 }, (_, i) => `X-${i}: ${i}`)])],
  ];

  it.each(LEFT_TO_NODE)('leaves %s to Node', (_name, bytes) => {
    expect(readUpgradeHead(bytes, 16384)).toBeUndefined();
  });

  // The fuzz run (test/fuzz) found a head of only CRLF CRLF throwing from Buffer.compare.
  it.each(['\r\n\r\n', 'GET\r\n\r\n', 'GET /\r\n\r\n', '\r\n\r\nGET / HTTP/1.1\r\n'])(
    'leaves the short head %j to Node without throwing',
    (text) => {
      expect(readUpgradeHead(Buffer.from(text, 'latin1'), 16384)).toBeUndefined();
    },
  );

  it('never throws on any prefix of a request, or on it with any one byte changed', () => {
    const good = request(LINES, '\x82\x00');
    for (let n = 0; n <= good.length; n++) {
      const prefix = good.subarray(0, n);
      expect(() => readUpgradeHead(prefix, 16384)).not.toThrow();
    }
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(good);
      bytes[next() % bytes.length] = next() % 256;
      expect(() => readUpgradeHead(bytes.subarray(0, next() % (bytes.length + 1)), 16384)).not.toThrow();
    }
  });
});
