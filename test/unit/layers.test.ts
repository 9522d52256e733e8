// The folders that must stay leaves: errors/ imports only itself; config/ runs with nothing
// above it (it may name other folders' types, but imports no code from them); listen/ stands on
// config/, errors/, log/ and protocol/ only; auth/ does not reach into server/. And no error
// thrown outside cli/ words a flag (`--web`): library errors name keys. Read from the sources,
// so a change that breaks either fails here.

import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Each import of each file of `folder`: the specifier and whether it is `import type`. */
function importsOf(folder: string): { file: string; from: string; typeOnly: boolean }[] {
  const dir = path.join(SRC, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((file) => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      return [...text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)].map((m) => ({
        file: `${folder}/${file}`,
        from: m[2]!,
        typeOnly: m[1] !== undefined,
      }));
    });
}

/** The src/ folder an import lands in, or undefined for node: and packages. */
function folderOf(file: string, from: string): string | undefined {
  if (!from.startsWith('.')) return undefined;
  return path.relative(SRC, path.resolve(SRC, path.dirname(file), from)).split(path.sep)[0];
}

describe('layers', () => {
  it('errors/ imports only errors/', () => {
    const outside = importsOf('errors').filter((i) => ![undefined, 'errors'].includes(folderOf(i.file, i.from)));
    expect(outside).toEqual([]);
  });

  it('config/ imports code only from config/ and errors/ (types from anywhere)', () => {
    const outside = importsOf('config').filter(
      (i) => !i.typeOnly && ![undefined, 'config', 'errors'].includes(folderOf(i.file, i.from)),
    );
    expect(outside).toEqual([]);
  });

  it('listen/ imports only listen/, config/, errors/, log/ and protocol/', () => {
    const above = importsOf('listen').filter(
      (i) => ![undefined, 'listen', 'config', 'errors', 'log', 'protocol'].includes(folderOf(i.file, i.from)),
    );
    expect(importsOf('listen').length).toBeGreaterThan(0);
    expect(above).toEqual([]);
  });

  it('auth/ does not import from server/ or cli/', () => {
    const up = importsOf('auth').filter((i) => ['server', 'cli'].includes(folderOf(i.file, i.from) ?? ''));
    expect(up).toEqual([]);
  });
});

describe('library errors', () => {
  it('no error thrown outside cli/ names a command-line flag', () => {
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.startsWith(`cli${path.sep}`) && !f.endsWith('option-table.ts'),
    );
    const flagged = files.flatMap((file) =>
      readFileSync(path.join(SRC, file), 'utf8')
        .split('\n')
        .filter((line) => /(\bthrow\b|new \w*Error\()/.test(line) && /[`'"(: ]--[a-z]/.test(line))
        .map((line) => `${file}: ${line.trim()}`),
    );
    expect(files.length).toBeGreaterThan(50);
    expect(flagged).toEqual([]);
  });
});
