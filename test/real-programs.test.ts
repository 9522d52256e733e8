// Wrapping the real programs users wrap: netkit telnetd (respawn mode, one connection per
// process) and a TigerVNC server. Both come from Debian packages that .ci/run installs.

import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { startCliForTest } from './helpers/cli.js';
import { openClient, type OpenClient } from './helpers/clients.js';
import { eventually } from './helpers/wait.js';
import { unusedPort } from './helpers/targets.js';
import { XVNC, freeDisplay, xvncCommand } from './helpers/x11.js';

const TELNETD = '/usr/sbin/in.telnetd';

const IAC = 255;
const [DONT, DO, WONT, WILL, SB, SE] = [254, 253, 252, 251, 250, 240];
const [ECHO, SGA] = [1, 3];

/**
 * A minimal telnet client over the WebSocket: refuses every option the server asks us to do,
 * accepts the server's ECHO and SGA, and returns the printable text received so far.
 */
function telnetText(c: OpenClient): () => string {
  let text = '';
  let seen = 0;
  return () => {
    const bytes = c.bytes();
    let i = seen;
    const replies: number[] = [];
    while (i < bytes.length) {
      const b = bytes[i]!;
      if (b !== IAC) {
        text += String.fromCharCode(b);
        i += 1;
        continue;
      }
      if (i + 1 >= bytes.length) break;
      const cmd = bytes[i + 1]!;
      if (cmd === SB) {
        const end = bytes.indexOf(SE, i + 2);
        if (end === -1) break;
        i = end + 1;
        continue;
      }
      if (cmd === DO || cmd === DONT || cmd === WILL || cmd === WONT) {
        if (i + 2 >= bytes.length) break;
        const opt = bytes[i + 2]!;
        if (cmd === DO) replies.push(IAC, WONT, opt);
        if (cmd === WILL) replies.push(IAC, opt === ECHO || opt === SGA ? DO : DONT, opt);
        i += 3;
        continue;
      }
      i += 2;
    }
    seen = i;
    if (replies.length > 0) c.ws.send(Buffer.from(replies));
    return text;
  };
}

function waitForText(read: () => string, pattern: RegExp, ms: number): Promise<string> {
  return eventually(
    () => {
      const text = read();
      return pattern.test(text) && text;
    },
    () => `text matching ${pattern}; got so far: ${JSON.stringify(read())}`,
    { ms, every: 50 },
  );
}

const describeIf = (ok: boolean): typeof describe.skip => (ok ? describe : describe.skip);

describeIf(existsSync(TELNETD) || process.env.CI === 'true')('netkit telnetd, wrapped with --wrap-mode=respawn', () => {
  it('serves the login prompt to a WebSocket client twice in a row', async () => {
    const port = await unusedPort();
    const cli = await startCliForTest([
      `127.0.0.1:${port}`,
      '--wrap-mode=respawn',
      '--',
      TELNETD,
      '-debug',
      String(port),
    ]);
    for (let round = 0; round < 2; round++) {
      const c = await openClient(`ws://127.0.0.1:${cli.port}/`, 'binary', 10000);
      const text = await waitForText(telnetText(c), /login: $/, 20000);
      expect(text).toMatch(/login: $/);
      c.ws.close();
      await c.closed;
    }
    expect(cli.stderr().match(/^Starting /gm)?.length).toBeGreaterThanOrEqual(2);
  }, 60000);
});

describeIf(existsSync(XVNC) || process.env.CI === 'true')('TigerVNC server, wrapped', () => {
  it('a WebSocket client reads the RFB greeting', async () => {
    const port = await unusedPort();
    const cli = await startCliForTest([`127.0.0.1:${port}`, '--', ...xvncCommand(freeDisplay(), port)]);
    // The client may arrive before Xtigervnc has bound its port: the proxy waits for it.
    const c = await openClient(`ws://127.0.0.1:${cli.port}/`, 'binary', 10000);
    const greeting = await c.waitForBytes(12, 15000);
    expect(greeting.subarray(0, 12).toString('latin1')).toBe('RFB 003.008\n');
    c.ws.close();
    await c.closed;
  }, 30000);
});
