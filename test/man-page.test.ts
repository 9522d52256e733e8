// The man page built from the option table (man/websockify.1, written by `npm run build`):
// checked by the real groff (no warnings) and rendered by the real `man -l`, it lists every
// option with its placeholder, and package.json ships it as the package's man page.

import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { optionGroups, optionSynopsis } from '../src/cli/help-text.js';
import { VERSION } from '../src/version.js';

const run = promisify(execFile);
const PAGE = fileURLToPath(new URL('../man/websockify.1', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  man: string;
  files: string[];
};

describe('man/websockify.1', () => {
  it('is valid roff: groff -man -ww reports nothing', async () => {
    const { stdout, stderr } = await run('groff', ['-man', '-z', '-ww', PAGE], { timeout: 30000 });
    expect({ stdout, stderr }).toEqual({ stdout: '', stderr: '' });
  });

  it('man -l renders the name, the version and every option with its placeholder', async () => {
    const { stdout } = await run('man', ['-P', 'cat', '-l', PAGE], {
      env: { ...process.env, MANWIDTH: '100', LC_ALL: 'C.UTF-8', MAN_KEEP_FORMATTING: '' },
      timeout: 30000,
    });
    // eslint-disable-next-line no-control-regex
    const text = stdout.replace(/.\x08/g, ''); // overstrike bold/underline, if any
    expect(text).toMatch(/^WEBSOCKIFY\(1\) +User Commands +WEBSOCKIFY\(1\)\n/);
    expect(text).toContain('websockify - WebSockets to TCP bridge');
    expect(text).toContain(`websockify-node ${VERSION}`);
    const options = optionGroups().flatMap(([, list]) => list);
    expect(options.length).toBeGreaterThan(40);
    const missing = options.map(optionSynopsis).filter((synopsis) => !text.includes(`\n       ${synopsis}\n`));
    expect(missing).toEqual([]);
    expect(text).toContain('SIGHUP');
  });

  it("is the package's man page, and shipped", () => {
    expect(PKG.man).toBe('./man/websockify.1');
    expect(PKG.files).toContain('man/');
  });
});
