// The legacy Hixie-75/76 protocol pieces, without sockets: telling the versions apart, the
// request checks, the Hixie-76 key challenge (the draft's own example), the 101 response and
// the incremental frame parser.

import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import {
  checkHixieRequest,
  encodeHixieFrame,
  hixie76Challenge,
  hixieKeyNumber,
  HixieFrameParser,
  hixieResponse,
  hixieVersion,
} from '../../src/protocol/hixie.js';

/** The request fields the Hixie functions read. */
function request(headers: Record<string, string>, method = 'GET', url = '/demo'): IncomingMessage {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method, url, headers: lower, socket: {} } as unknown as IncomingMessage;
}

// The opening handshake of draft-hixie-thewebsocketprotocol-76, section 1.3.
const KEY1 = '4 @1  46546xW%0l 1 5';
const KEY2 = '12998 5 Y3 1  .P00';
const KEY3 = Buffer.from('^n:ds[4U', 'latin1');
const ANSWER = "8jKS'y:G*Co,Wxa-";

describe('hixieVersion', () => {
  it('a request with Sec-WebSocket-Version or -Key is RFC 6455; Key1/Key2 is Hixie-76; else Hixie-75', () => {
    expect(hixieVersion(request({ 'Sec-WebSocket-Version': '13' }))).toBeUndefined();
    expect(hixieVersion(request({ 'Sec-WebSocket-Key': 'x' }))).toBeUndefined();
    expect(hixieVersion(request({ 'Sec-WebSocket-Key1': KEY1, 'Sec-WebSocket-Key2': KEY2 }))).toBe('hixie-76');
    expect(hixieVersion(request({ 'Sec-WebSocket-Key2': KEY2 }))).toBe('hixie-76');
    expect(hixieVersion(request({ Host: 'h' }))).toBe('hixie-75');
  });
});

describe('hixieKeyNumber', () => {
  it("is the key's digits divided by its spaces", () => {
    expect(hixieKeyNumber(KEY1)).toBe(829309203);
    expect(hixieKeyNumber(KEY2)).toBe(259970620);
    expect(hixieKeyNumber('1 2')).toBe(12);
  });

  it.each([
    ['no spaces', '12345'],
    ['no digits', 'a b c'],
    ['digits not divisible by the spaces', '1 0 1'],
    ['a quotient above 2^32 - 1', '4294967296 '],
    ['more than 20 digits', `${'1'.repeat(21)} `],
  ])('%s: invalid', (_what, key) => {
    expect(hixieKeyNumber(key)).toBeUndefined();
  });
});

describe('checkHixieRequest', () => {
  const good = { Host: 'example.com', Upgrade: 'WebSocket', Connection: 'Upgrade' };

  it('accepts a well-formed request of either version', () => {
    expect(checkHixieRequest(request(good), 'hixie-75')).toBeUndefined();
    const keyed = { ...good, 'Sec-WebSocket-Key1': KEY1, 'Sec-WebSocket-Key2': KEY2 };
    expect(checkHixieRequest(request(keyed), 'hixie-76')).toBeUndefined();
  });

  it.each([
    ['a method other than GET', request(good, 'POST'), 'hixie-75', 'hixie-75 handshake must be a GET'],
    ['no Upgrade: WebSocket', request({ ...good, Upgrade: 'h2c' }), 'hixie-75', 'Upgrade header must be WebSocket'],
    ['no Host', request({ Upgrade: 'websocket' }), 'hixie-75', 'Missing Host header'],
    [
      'a bad Key1',
      request({ ...good, 'Sec-WebSocket-Key1': '123', 'Sec-WebSocket-Key2': KEY2 }),
      'hixie-76',
      'Invalid or missing sec-websocket-key1 header',
    ],
    [
      'no Key2',
      request({ ...good, 'Sec-WebSocket-Key1': KEY1 }),
      'hixie-76',
      'Invalid or missing sec-websocket-key2 header',
    ],
  ] as const)('refuses %s', (_what, req, version, message) => {
    expect(checkHixieRequest(req, version)).toBe(message);
  });
});

describe('the handshake answer', () => {
  it("the Hixie-76 challenge is the draft's example answer", () => {
    expect(hixie76Challenge(KEY1, KEY2, KEY3).toString('latin1')).toBe(ANSWER);
  });

  it('Hixie-76: the 101 with Sec- headers, the location (wss when secure), base64 echoed, then the answer', () => {
    const req = request({
      Host: 'example.com',
      Origin: 'http://example.com',
      'Sec-WebSocket-Key1': KEY1,
      'Sec-WebSocket-Key2': KEY2,
      'Sec-WebSocket-Protocol': 'sample, base64',
    });
    expect(hixieResponse(req, 'hixie-76', true, KEY3).toString('latin1')).toBe(
      'HTTP/1.1 101 WebSocket Protocol Handshake\r\n' +
        'Upgrade: WebSocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Origin: http://example.com\r\n' +
        'Sec-WebSocket-Location: wss://example.com/demo\r\n' +
        'Sec-WebSocket-Protocol: base64\r\n' +
        '\r\n' +
        ANSWER,
    );
  });

  it('Hixie-75: no Sec- prefix, no answer; an offer without base64 is not echoed', () => {
    const req = request({ Host: 'h:6080', 'WebSocket-Protocol': 'chat' });
    expect(hixieResponse(req, 'hixie-75', false).toString('latin1')).toBe(
      'HTTP/1.1 101 Web Socket Protocol Handshake\r\n' +
        'Upgrade: WebSocket\r\n' +
        'Connection: Upgrade\r\n' +
        'WebSocket-Location: ws://h:6080/demo\r\n' +
        '\r\n',
    );
  });
});

describe('frames', () => {
  function parse(chunks: Buffer[], max = 100): string[] {
    const seen: string[] = [];
    const parser = new HixieFrameParser(max, {
      onText: (text) => seen.push(`text:${text.toString('latin1')}`),
      onClose: () => seen.push('close'),
      onError: (reason) => seen.push(`error:${reason}`),
    });
    for (const c of chunks) parser.push(c);
    return seen;
  }
  const frame = (text: string): Buffer => encodeHixieFrame(text);

  it('a data frame is 0x00 text 0xff', () => {
    expect(frame('QUJD').equals(Buffer.from([0x00, 0x51, 0x55, 0x4a, 0x44, 0xff]))).toBe(true);
    expect(frame('').equals(Buffer.from([0x00, 0xff]))).toBe(true);
  });

  it('frames split anywhere, several in one chunk, and empty ones all parse', () => {
    const stream = Buffer.concat([frame('first'), frame(''), frame('second'), frame('third')]);
    const expected = ['text:first', 'text:', 'text:second', 'text:third'];
    expect(parse([stream])).toEqual(expected);
    for (let cut = 1; cut < stream.length; cut++) {
      expect(parse([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
    expect(parse([...stream].map((b) => Buffer.from([b])))).toEqual(expected);
  });

  it('0xff 0x00 is the close frame, also split; nothing after it is parsed', () => {
    expect(parse([Buffer.concat([frame('a'), Buffer.from([0xff, 0x00]), frame('late')])])).toEqual(['text:a', 'close']);
    expect(parse([Buffer.from([0xff]), Buffer.from([0x00]), frame('late')])).toEqual(['close']);
  });

  it('a frame larger than the limit is an error, even before its end arrives; one at the limit passes', () => {
    expect(parse([frame('x'.repeat(10))], 10)).toEqual([`text:${'x'.repeat(10)}`]);
    expect(parse([Buffer.from([0x00]), Buffer.from('x'.repeat(11))], 10)).toEqual(['error:frame larger than 10 bytes']);
  });

  it('an unknown frame type, or 0xff followed by anything but 0x00, is an error; parsing stops', () => {
    expect(parse([Buffer.from([0x80, 0x01, 0x41]), frame('late')])).toEqual(['error:unsupported frame type 0x80']);
    expect(parse([Buffer.from([0xff, 0x05]), frame('late')])).toEqual([
      'error:unsupported frame type 0xff with length byte 0x05',
    ]);
  });
});
