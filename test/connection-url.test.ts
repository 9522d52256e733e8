// Where the web terminal page connects, from its address and query (web/src/connection-url.ts).

import { describe, expect, it } from '@jest/globals';
import { connectionUrl } from '../web/src/connection-url.js';

describe('the terminal page connection URL', () => {
  it.each([
    ['http://127.0.0.1:6080/', 'ws://127.0.0.1:6080/'],
    ['https://example.org/', 'wss://example.org/'],
    ['https://example.org/?encrypt=0', 'ws://example.org/'],
    ['http://example.org:8080/?encrypt=true', 'wss://example.org:8080/'],
    ['http://a:1/?host=b&port=2&path=websockify', 'ws://b:2/websockify'],
    ['http://a:1/?path=/ws/term&token=x%20y%26z', 'ws://a:1/ws/term?token=x%20y%26z'],
    ['http://a:1/?path=ws%3Fmode%3D1&token=t', 'ws://a:1/ws?mode=1&token=t'],
    ['http://[::1]:6080/', 'ws://[::1]:6080/'],
    ['http://a/?host=::1&port=6080', 'ws://[::1]:6080/'],
  ])('%s -> %s', (page, expected) => {
    expect(connectionUrl(new URL(page))).toBe(expected);
  });
});
