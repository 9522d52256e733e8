// Real-browser tests (Debian chromium through playwright-core): the web terminal page served by
// --web against the `npm start` demo and against netkit telnetd, and Debian's noVNC served by
// --web in front of a wrapped Xtigervnc, opened as 127.0.0.1 and as localhost. Screenshots go
// to test-artifacts/. Nothing is skipped: a missing program fails with a pointer to .ci/run.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { Websock } from '../src/client/websock.js';
import {
  launchBrowser,
  saveScreenshot,
  waitForTerminal,
  type PageGlobals,
  type TestBrowser,
} from './helpers/browser.js';
import { defer } from './helpers/cleanup.js';
import { runCli, startCliForTest } from './helpers/cli.js';
import { unusedPort } from './helpers/targets.js';
import { XSETROOT, XVNC, freeDisplay, paintRoot, xvncCommand } from './helpers/x11.js';
import { eventually } from './helpers/wait.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEB = `${ROOT}web`;
const DEMO = `${ROOT}demo/telnet-demo.js`;
const START = `${ROOT}demo/start.js`;
const TELNETD = '/usr/sbin/in.telnetd';
const NOVNC = '/usr/share/novnc';

function requireProgram(file: string, what: string): void {
  if (!existsSync(file)) throw new Error(`${file} is missing: ${what} (run .ci/run to install the test packages)`);
}

let browser: TestBrowser;
beforeAll(async () => {
  browser = await launchBrowser();
}, 120000);
afterAll(async () => browser?.close());

async function openPage(url: string): Promise<Page & { problems: string[] }> {
  const page = await browser.newPage();
  defer(() => page.close());
  await page.goto(url);
  return page;
}

/** Waits for the terminal page's connection state (the body's data-state). */
async function pageState(page: Page, state: string, ms = 20000): Promise<string> {
  await page.waitForFunction((s) => (globalThis as unknown as PageGlobals).document.body.dataset.state === s, state, {
    timeout: ms,
  });
  return (await page.textContent('#status')) ?? '';
}

/** Types a line into the terminal (Enter sends CR, as a real keyboard does). */
async function typeLine(page: Page, text: string): Promise<void> {
  await page.click('#terminal');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

function terminalSize(page: Page): Promise<string> {
  return page.evaluate(() => {
    const { term } = (globalThis as unknown as PageGlobals).webTerminal;
    return `${term.cols}x${term.rows}`;
  });
}

describe('the web terminal page', () => {
  it('npm start: shows the demo greeting, answers typed lines, reports the window size and its changes', async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('node demo/start.js');
    const port = await unusedPort();
    const start = runCli(['--port', String(port), '--host', '127.0.0.1'], process.env, {
      via: [process.execPath, START],
    });
    defer(() => start.kill());
    await start.waitForStderr(/Listen on 127\.0\.0\.1:\d+/, 20000);
    await start.waitForStderr(/telnet-demo: listening|Starting/, 20000);

    const page = await openPage(`http://127.0.0.1:${port}/`);
    expect(await pageState(page, 'connected')).toBe(`Connected to ws://127.0.0.1:${port}/ (binary)`);
    await waitForTerminal(page, /Welcome to the websockify demo service\.[\s\S]*\n>$/, 20000);
    expect(start.stdout()).toContain(`Open http://127.0.0.1:${port}/ in a browser`);

    await typeLine(page, 'size');
    const size = await terminalSize(page);
    await waitForTerminal(
      page,
      new RegExp(`> size\\nYour window is ${size} \\(columns x rows, from NAWS\\)\\.\\n>$`),
      10000,
    );

    // A smaller window: the page refits the terminal and tells the service (NAWS).
    await page.setViewportSize({ width: 640, height: 360 });
    await eventually(async () => (await terminalSize(page)) !== size, 'the terminal to refit', { ms: 10000 });
    const smaller = await terminalSize(page);
    await typeLine(page, 'size');
    await waitForTerminal(page, new RegExp(`Your window is ${smaller} \\(`), 10000);

    // UTF-8 typed in the page reaches the service and comes back.
    await typeLine(page, 'echo héllo wörld ÿ');
    await waitForTerminal(page, /> echo héllo wörld ÿ\nhéllo wörld ÿ\n>$/, 10000);
    await saveScreenshot(page, 'browser-demo');
    expect(page.problems).toEqual([]);
  }, 90000);

  it('takes host, port, path and token from the query, shows connection errors; the websock.js bundle works', async () => {
    const port = await unusedPort();
    const cli = await startCliForTest([
      `127.0.0.1:${port}`,
      '-v',
      '--web',
      WEB,
      '--',
      process.execPath,
      DEMO,
      String(port),
    ]);
    const page = await openPage(
      `http://127.0.0.1:${port}/?host=127.0.0.1&port=${port}&path=websockify&token=a%20b%2Fc`,
    );
    expect(await pageState(page, 'connected')).toBe(
      `Connected to ws://127.0.0.1:${port}/websockify?token=a%20b%2Fc (binary)`,
    );
    await cli.waitForStderr(/WebSocket connection on \/websockify\?token=a%20b%2Fc \(binary\)/);
    await waitForTerminal(page, /Welcome/, 20000);

    // The standalone browser bundle of the client library (web/build/websock.js), in base64 mode.
    const seen = await page.evaluate(async (url) => {
      const bundle = '/build/websock.js';
      const lib = (await import(bundle)) as { Websock: typeof Websock };
      const sock = new lib.Websock();
      const first = await new Promise<number[]>((resolve, reject) => {
        sock.on('message', () => {
          if (!sock.rQwait('negotiation', 9)) resolve(Array.from(sock.rQshiftBytes(9)));
        });
        sock.on('close', (e) => reject(new Error(`closed ${e.code} ${e.reason}`)));
        sock.open(url, 'base64');
      });
      const encoding = sock.encoding;
      sock.close();
      return { first, encoding };
    }, `ws://127.0.0.1:${port}/`);
    expect(seen).toEqual({ first: [255, 251, 1, 255, 251, 3, 255, 253, 31], encoding: 'base64' });
    await cli.waitForStderr(/WebSocket connection on \/ \(base64\)/);

    const nobody = await unusedPort();
    const failed = await openPage(`http://127.0.0.1:${port}/?port=${nobody}`);
    const status = await pageState(failed, 'error');
    expect(status).toBe(
      `Could not connect to ws://127.0.0.1:${nobody}/ (code 1006): is websockify running there, and are the token and the path right?`,
    );
    expect(await failed.isVisible('#reconnect')).toBe(true);
  }, 60000);

  it('an upgrade refused by the server that sent the page (unknown token, 404) says to check the token and path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-refused-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const tokens = path.join(dir, 'tokens.cfg');
    await writeFile(tokens, 'known: 127.0.0.1:9\n');
    const cli = await startCliForTest([
      '--web',
      WEB,
      '--token-plugin',
      'TokenFile',
      '--token-source',
      tokens,
      '127.0.0.1:0',
    ]);
    const page = await openPage(`http://127.0.0.1:${cli.port}/?token=unknown`);
    expect(await pageState(page, 'error')).toBe(
      `Could not connect to ws://127.0.0.1:${cli.port}/?token=unknown (code 1006): the server that sent this page ` +
        'refused it: check the token and the path in the address (an unknown token is refused); its log says why',
    );
    await cli.waitForStderr(/refused upgrade: 404 /);
  }, 60000);

  it('netkit telnetd (respawned): the login prompt is rendered and a typed user name is answered', async () => {
    requireProgram(TELNETD, 'netkit telnetd, Debian package telnetd-ssl');
    const port = await unusedPort();
    await startCliForTest([
      `127.0.0.1:${port}`,
      '--web',
      WEB,
      '--wrap-mode=respawn',
      '--',
      TELNETD,
      '-debug',
      String(port),
    ]);
    const page = await openPage(`http://127.0.0.1:${port}/`);
    await pageState(page, 'connected');
    // The banner takes a few seconds (netkit telnetd looks up the peer, then starts login).
    await waitForTerminal(page, /login:$/, 40000);
    await typeLine(page, 'nobody');
    await waitForTerminal(page, /login: nobody\n(.*\n)*Password: ?$/, 20000);
    await saveScreenshot(page, 'browser-telnetd');
    expect(page.problems).toEqual([]);
  }, 90000);
});

describe('noVNC (Debian novnc) served by --web, through websockify wrapping Xtigervnc', () => {
  it('connects and shows the root window colour, opened as 127.0.0.1 and as localhost', async () => {
    requireProgram(XVNC, 'TigerVNC, Debian package tigervnc-standalone-server');
    requireProgram(XSETROOT, 'Debian package x11-xserver-utils');
    requireProgram(`${NOVNC}/vnc.html`, 'Debian package novnc');
    const port = await unusedPort();
    const display = freeDisplay();
    // Xtigervnc also binds [::1]: unless rebind.so moves that too, a browser resolving localhost
    // to ::1 reaches raw RFB instead of websockify.
    await startCliForTest([`127.0.0.1:${port}`, '--web', NOVNC, '--', ...xvncCommand(display, port)]);
    await paintRoot(display, '#ff8000', 20000);

    for (const host of ['127.0.0.1', 'localhost']) {
      const page = await openPage(`http://${host}:${port}/vnc.html?autoconnect=true&reconnect=false`);
      await page.waitForFunction(
        () => (globalThis as unknown as PageGlobals).document.documentElement.classList.contains('noVNC_connected'),
        null,
        { timeout: 30000 },
      );
      const pixel = await page.waitForFunction(
        () => {
          const canvas = (globalThis as unknown as PageGlobals).document.querySelector('#noVNC_container canvas');
          const rgba = canvas?.getContext('2d').getImageData(20, 20, 1, 1).data;
          return rgba && rgba[0] === 255 && rgba[1] === 128 && rgba[2] === 0 ? Array.from(rgba) : null;
        },
        null,
        { timeout: 20000 },
      );
      expect(await pixel.jsonValue()).toEqual([255, 128, 0, 255]);
      await saveScreenshot(page, `browser-novnc-${host}`);
      await page.close();
    }
  }, 120000);
});
