// The option table as the one statement of each option: README's option table lists exactly
// its options, each row is consistent (a key and flag of its own, `needs` naming keys that
// exist), and the help quotes the defaults object rather than numbers of its own.

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { DEFAULTS } from '../../src/config/defaults.js';
import { OPTION_TABLE, rowOfKey, type OptionRow } from '../../src/config/option-table.js';
import { helpText } from '../../src/cli/help-text.js';

const ROWS: readonly OptionRow[] = OPTION_TABLE;
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The flags README's option table lists: `--name` and `-x` in the first cell of each row. */
function readmeFlags(): { long: string[]; short: string[] } {
  const lines = README.split('\n');
  const start = lines.findIndex((line) => /^\| Option \| What it does \|$/.test(line));
  expect(start).toBeGreaterThan(-1);
  const rows = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|')[1]!);
  }
  const names = rows.flatMap((cell) => [...cell.matchAll(/`(-{1,2}[A-Za-z0-9][\w-]*)[^`]*`/g)].map((m) => m[1]!));
  return {
    long: names.filter((n) => n.startsWith('--')).map((n) => n.slice(2)),
    short: names.filter((n) => !n.startsWith('--')).map((n) => n.slice(1)),
  };
}

describe('README option table', () => {
  it('lists exactly the options of the table, with their aliases', () => {
    const { long, short } = readmeFlags();
    expect([...long].sort()).toEqual(ROWS.map((o) => o.flag).sort());
    expect([...short].sort()).toEqual(ROWS.flatMap((o) => (o.alias ? [o.alias] : [])).sort());
    expect(new Set(long).size).toBe(long.length);
  });
});

describe('the rows', () => {
  it('each has a flag, alias and key of its own', () => {
    const unique = (values: string[]): void => expect(new Set(values).size).toBe(values.length);
    unique(ROWS.map((o) => o.flag));
    unique(ROWS.flatMap((o) => (o.alias ? [o.alias] : [])));
    unique(ROWS.map((o) => o.key));
  });

  it('`needs` names keys that a row has or provides, and a flag needs nothing it provides itself', () => {
    for (const o of ROWS) {
      for (const key of o.needs ?? []) {
        expect({ flag: o.flag, needs: key, found: rowOfKey(key) !== undefined }).toEqual({
          flag: o.flag,
          needs: key,
          found: true,
        });
        expect(key).not.toBe(o.key);
      }
    }
  });

  it('library options are copied to plain keys or into tls; rules and settings are read by the parser', () => {
    for (const o of ROWS.filter((row) => row.use === 'option')) {
      expect(o.key).toMatch(/^(tls\.)?[a-z][A-Za-z0-9]*$/);
    }
  });

  it('--help states the defaults of DEFAULTS', () => {
    const help = helpText(100).replace(/\s+/g, ' ');
    for (const value of [DEFAULTS.maxMessageSize, DEFAULTS.maxFrameSize, DEFAULTS.connectTimeout]) {
      expect(help).toContain(`(default ${value}`);
    }
    expect(help).toContain(`(default ${DEFAULTS.cert};`);
    expect(help).toContain('(default 0600)');
  });
});
