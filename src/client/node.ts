// The client library's Node entry point (`websockify-node/client` under Node): the same API, with
// Websock defaulting to the `ws` package, since Node 20 has no global WebSocket. Kept apart from
// ./index.ts so that browser bundles never pull in `ws`.

import WebSocket from 'ws';
import { Websock as BaseWebsock, type WebsockOptions } from './websock.js';

export * from './index.js';

/**
 * Websock using `ws` unless another WebSocket class is given.
 *
 * @example
 * ```ts
 * import { Websock } from 'websockify-node/client';
 * const sock = new Websock();
 * sock.on('open', () => sock.send('GET / HTTP/1.0\r\n\r\n'));
 * sock.on('message', () => process.stdout.write(sock.rQshiftStr()));
 * sock.open('ws://127.0.0.1:6080/');
 * ```
 */
export class Websock extends BaseWebsock {
  constructor(options: WebsockOptions = {}) {
    super({ WebSocket, ...options });
  }
}
