// A real browser for tests: Debian's chromium driven by playwright-core (never a downloaded
// browser), headless, with a fresh profile per launch. A missing chromium fails the test with
// a message instead of skipping it. Also: reading the web terminal's screen, and screenshots
// saved under test-artifacts/.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { eventually } from './wait.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab; page errors and console errors are collected in `problems`. */
  newPage(): Promise<Page & { problems: string[] }>;
  close(): Promise<void>;
}

/** Launches chromium with a fresh --user-data-dir; throws when it is not installed. */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium (run .ci/run to install it)`);
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'websockify-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1000, height: 600 },
    timeout: 60000,
  });
  return {
    context,
    newPage: async () => {
      const page = Object.assign(await context.newPage(), { problems: [] as string[] });
      page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') page.problems.push(`console error: ${m.text()}`);
      });
      return page;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The browser globals that tests read inside pages (the tests are type-checked without DOM
 * types): `const g = globalThis as unknown as PageGlobals` in a page.evaluate callback.
 */
export interface PageGlobals {
  document: {
    body: { dataset: Record<string, string | undefined> };
    documentElement: { classList: { contains(name: string): boolean } };
    querySelector(selector: string): {
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
    } | null;
  };
  /** The web terminal page's objects (web/src/terminal.ts). */
  webTerminal: {
    term: {
      cols: number;
      rows: number;
      buffer: { active: { length: number; getLine(i: number): { translateToString(trim: boolean): string } } };
    };
  };
}

/** The web terminal's screen and scrollback as text, one line per row, trailing blanks trimmed. */
export function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const buffer = (globalThis as unknown as PageGlobals).webTerminal.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
    return lines.join('\n').trimEnd();
  });
}

/** Waits until the terminal's text matches `pattern`; on timeout the error shows the screen. */
export async function waitForTerminal(page: Page, pattern: RegExp, ms: number): Promise<string> {
  let text = '';
  return eventually(
    async () => {
      text = await terminalText(page);
      return pattern.test(text) && text;
    },
    () => `${pattern}; screen:\n${text}`,
    { ms, every: 100 },
  );
}

/** Saves a screenshot as test-artifacts/NAME.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
