// The web terminal page's script: an xterm.js terminal connected through websockify to a
// telnet-style service. Websock carries the bytes, TelnetClient handles the telnet protocol
// (negotiation, NAWS window sizes, IAC escaping), and the page shows the connection state.

import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { TelnetClient } from '../../src/client/telnet.js';
import { Websock } from '../../src/client/websock.js';
import { connectionUrl } from './connection-url.js';

type PageState = 'connecting' | 'connected' | 'disconnected' | 'error';

declare global {
  interface Window {
    /** The live objects, for debugging from the console and for tests. */
    webTerminal?: { term: Terminal; sock: Websock; url: string };
  }
}

const statusLine = document.getElementById('status')!;
const reconnectButton = document.getElementById('reconnect') as HTMLButtonElement;
const container = document.getElementById('terminal')!;

const term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 2000 });
const fit = new FitAddon();
term.loadAddon(fit);
term.open(container);
fit.fit();

const url = connectionUrl(new URL(window.location.href));
const sock = new Websock();
const encoder = new TextEncoder();
let telnet = newTelnet();
let opened = false;

window.webTerminal = { term, sock, url };

function newTelnet(): TelnetClient {
  return new TelnetClient(
    { send: (bytes) => sock.send(bytes), display: (bytes) => term.write(bytes) },
    { cols: term.cols, rows: term.rows },
  );
}

function show(state: PageState, text: string): void {
  document.body.dataset.state = state;
  statusLine.textContent = text;
  reconnectButton.hidden = state === 'connecting' || state === 'connected';
}

function connect(): void {
  opened = false;
  telnet = newTelnet();
  show('connecting', `Connecting to ${url}…`);
  try {
    sock.open(url);
  } catch (e) {
    show('error', `Cannot connect to ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Why a WebSocket that never opened may have failed. Browsers hide the HTTP answer (a refused
 * upgrade and a closed port both close with 1006), but when the socket's host and port are this
 * page's, the server that sent the page is running: it refused the upgrade.
 */
function refusalHint(): string {
  const target = new URL(url);
  const page = window.location;
  const samePort =
    (target.port || (target.protocol === 'wss:' ? '443' : '80')) ===
    (page.port || (page.protocol === 'https:' ? '443' : '80'));
  if (target.hostname === page.hostname && samePort) {
    return 'the server that sent this page refused it: check the token and the path in the address (an unknown token is refused); its log says why';
  }
  return 'is websockify running there, and are the token and the path right?';
}

sock.on('open', () => {
  opened = true;
  show('connected', `Connected to ${url} (${sock.encoding})`);
  term.focus();
});
sock.on('message', () => telnet.receive(sock.rQshiftBytes()));
sock.on('error', (e) => console.warn('websocket error', e.message));
sock.on('close', (e) => {
  const why = `code ${e.code}${e.reason ? `: ${e.reason}` : ''}`;
  if (opened) show('disconnected', `Disconnected (${why})`);
  else show('error', `Could not connect to ${url} (${why}): ${refusalHint()}`);
  term.write('\r\n\x1b[2m[connection closed]\x1b[0m\r\n');
});

term.onData((text) => {
  if (sock.readyState !== 'open') return;
  telnet.input(encoder.encode(text));
  // Without the server's echo (a plain line service), show what is typed.
  if (!telnet.serverEchoes) term.write(text.replace(/\r/g, '\r\n'));
});
term.onResize(({ cols, rows }) => telnet.resize(cols, rows));
window.addEventListener('resize', () => fit.fit());
reconnectButton.addEventListener('click', () => {
  term.reset();
  connect();
});

connect();
