// docs/library.md's option reference is generated from the library's types and the option
// table (scripts/build-library-docs.js): this fails when an option was added, renamed or
// re-documented without `npm run docs`, and checks the generated entries against the types.

import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const script = new URL('../scripts/build-library-docs.js', import.meta.url).pathname;
const doc = (): string => readFileSync(new URL('../docs/library.md', import.meta.url), 'utf8');

describe('docs/library.md option reference', () => {
  it('is up to date with src/config/options.ts and the option table', () => {
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('has one entry per option, each naming its type and how the command line sets it', () => {
    const source = readFileSync(new URL('../src/config/options.ts', import.meta.url), 'utf8');
    const body = source.slice(source.indexOf('export interface WebsockifyOptions'));
    const keys = [...body.slice(0, body.indexOf('\n}')).matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
    expect(keys).toContain('heartbeat');
    const text = doc();
    for (const key of keys) expect(text).toMatch(new RegExp(`^- \\*\\*\`${key}\`\\*\\*.*; command line: `, 'm'));
    expect(text).toMatch(/^- \*\*`heartbeat`\*\*: `number`; command line: `--heartbeat`\.$/m);
    expect(text).toMatch(/^- \*\*`tls\.cert`\*\* \(required\): `string`; command line: `--cert`\.$/m);
  });

  it('--check fails on a stale reference', () => {
    // Render into a copy with one entry removed, the way a forgotten `npm run docs` looks.
    const stale = doc().replace(/^- \*\*`heartbeat`\*\*.*\n.*\n/m, '');
    expect(stale).not.toBe(doc());
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { render } = await import(${JSON.stringify(script)}); process.stdout.write(render());`,
      ],
      { encoding: 'utf8' },
    );
    expect(stale.includes(out)).toBe(false);
    expect(doc().includes(out)).toBe(true);
  });
});
