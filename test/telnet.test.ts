// The telnet protocol handler of the web terminal (TelnetClient), byte-exact on its own, then
// end to end in Node: Websock + TelnetClient through the CLI wrapping the demo service.

import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { TelnetClient, Websock } from '../src/client/node.js';
import { startCliForTest } from './helpers/cli.js';
import { eventually } from './helpers/wait.js';
import { defer } from './helpers/cleanup.js';
import { unusedPort } from './helpers/targets.js';

const IAC = 255;
const [DONT, DO, WONT, WILL, SB, SE] = [254, 253, 252, 251, 250, 240];
const [ECHO, SGA, TTYPE, NAWS] = [1, 3, 24, 31];

function client(options?: { cols?: number; rows?: number }): {
  telnet: TelnetClient;
  sent: () => number[];
  shown: () => number[];
} {
  const sent: number[] = [];
  const shown: number[] = [];
  const telnet = new TelnetClient({ send: (b) => sent.push(...b), display: (b) => shown.push(...b) }, options);
  return { telnet, sent: () => sent.splice(0), shown: () => shown.splice(0) };
}

const bytes = (...parts: (number | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(Buffer.from(p, 'latin1')) : [p])));

describe('TelnetClient', () => {
  it('shows data without telnet commands: IAC IAC is 0xFF, CR NUL is CR, subnegotiations vanish', () => {
    const c = client();
    c.telnet.receive(bytes('a', IAC, IAC, 'b\r', 0, 'c', IAC, 241, IAC, SB, 99, 1, 2, IAC, IAC, IAC, SE, 'd\r\n'));
    expect(c.shown()).toEqual(Array.from(bytes('a', 0xff, 'b\rcd\r\n')));
    expect(c.sent()).toEqual([]);
  });

  it('handles commands split across chunks', () => {
    const c = client();
    for (const b of bytes('x', IAC, WILL, ECHO, 'y', IAC, SB, 5, IAC, SE, 'z')) c.telnet.receive(Uint8Array.of(b));
    expect(c.shown()).toEqual(Array.from(bytes('xyz')));
    expect(c.sent()).toEqual([IAC, DO, ECHO]);
    expect(c.telnet.serverEchoes).toBe(true);
  });

  it('accepts ECHO and SGA, refuses other options, and never answers an acknowledgement', () => {
    const c = client();
    c.telnet.receive(bytes(IAC, WILL, ECHO, IAC, WILL, SGA, IAC, WILL, 5, IAC, DO, 39));
    expect(c.sent()).toEqual([IAC, DO, ECHO, IAC, DO, SGA, IAC, DONT, 5, IAC, WONT, 39]);
    c.telnet.receive(bytes(IAC, WILL, ECHO, IAC, WILL, SGA, IAC, WONT, 39, IAC, DONT, 39));
    expect(c.sent()).toEqual([]);
    c.telnet.receive(bytes(IAC, WONT, ECHO));
    expect(c.sent()).toEqual([IAC, DONT, ECHO]);
    expect(c.telnet.serverEchoes).toBe(false);
  });

  it('reports the window size with NAWS when asked and on resize, doubling 255', () => {
    const c = client({ cols: 80, rows: 24 });
    c.telnet.resize(100, 30); // not asked yet: nothing sent
    expect(c.sent()).toEqual([]);
    c.telnet.receive(bytes(IAC, DO, NAWS));
    expect(c.sent()).toEqual([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 100, 0, 30, IAC, SE]);
    c.telnet.resize(255, 256);
    expect(c.sent()).toEqual([IAC, SB, NAWS, 0, IAC, IAC, 1, 0, IAC, SE]);
    c.telnet.resize(255, 256);
    expect(c.sent()).toEqual([]);
  });

  it('sends the terminal type when asked', () => {
    const c = client();
    c.telnet.receive(bytes(IAC, DO, TTYPE, IAC, SB, TTYPE, 1, IAC, SE));
    expect(c.sent()).toEqual(Array.from(bytes(IAC, WILL, TTYPE, IAC, SB, TTYPE, 0, 'XTERM-256COLOR', IAC, SE)));
  });

  it('escapes typed 0xFF and sends Enter (CR) as CR NUL, CR LF unchanged', () => {
    const c = client();
    c.telnet.input(bytes('a', 0xff, 'b\r', 'c\r\n'));
    expect(c.sent()).toEqual(Array.from(bytes('a', IAC, IAC, 'b\r', 0, 'c\r\n')));
  });
});

describe('the demo service through the CLI (rebind.so moves its port)', () => {
  it('negotiates, greets, answers a line and reports the NAWS window size', async () => {
    const port = await unusedPort();
    const demo = fileURLToPath(new URL('../demo/telnet-demo.js', import.meta.url));
    await startCliForTest([`127.0.0.1:${port}`, '--', process.execPath, demo, String(port)]);
    const sock = new Websock();
    let screen = '';
    const telnet = new TelnetClient(
      { send: (b) => sock.send(b), display: (b) => (screen += Buffer.from(b).toString('utf8')) },
      { cols: 132, rows: 43 },
    );
    sock.on('message', () => telnet.receive(sock.rQshiftBytes()));
    sock.open(`ws://127.0.0.1:${port}/`);
    defer(() => sock.close());
    const waitFor = (pattern: RegExp): Promise<boolean> =>
      eventually(
        () => pattern.test(screen),
        () => `${pattern} on screen; screen so far: ${JSON.stringify(screen)}`,
        { ms: 15000 },
      );
    await waitFor(/believes it listens on 127\.0\.0\.1:\d+;[\s\S]*\r\n> $/);
    expect(screen).toContain(`127.0.0.1:${port};`);
    expect(telnet.serverEchoes).toBe(true);
    telnet.input(new TextEncoder().encode('size\r'));
    await waitFor(/> size\r\nYour window is 132x43 \(columns x rows, from NAWS\)\.\r\n> $/);
    telnet.resize(90, 20);
    telnet.input(new TextEncoder().encode('echo ünï\r'));
    await waitFor(/> echo ünï\r\nünï\r\n> $/);
    telnet.input(new TextEncoder().encode('size\r'));
    await waitFor(/Your window is 90x20 /);
  }, 30000);
});
