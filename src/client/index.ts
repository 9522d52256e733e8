// The client library (`websockify-node/client`) for browsers and bundlers: Websock, which uses the
// global WebSocket, and the telnet protocol handler of the web terminal. Node users get ./node.ts
// instead (the package's "node" export condition), which supplies `ws`.

export {
  Websock,
  type WebsockOptions,
  type WebsockEvents,
  type WebsockCloseEvent,
  type WebsockErrorEvent,
  type WebsockEncoding,
  type WebsockState,
  type WebSocketLike,
  type WebSocketConstructor,
} from './websock.js';
export { TelnetClient, TelnetOption, type TelnetIO, type TelnetClientOptions } from './telnet.js';
