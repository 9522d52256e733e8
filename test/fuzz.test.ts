// The bounded fuzz run (test/fuzz/fuzz.js, `npm run fuzz -- --seconds N`; CI runs it for 60 s)
// kept working: a short run against the real command finds nothing and reports its figures, and
// bad arguments are refused. The long run itself is not part of `npm test`.

import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FUZZ = fileURLToPath(new URL('fuzz/fuzz.js', import.meta.url));

interface Figures {
  cases: number;
  healthChecks: number;
  failures: string[];
  byKind: Record<string, number>;
  fdStart: number;
  fdEnd: number;
}

describe('npm run fuzz', () => {
  it('a 4-second run: cases of every kind, health echoes, no failure, figures written', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'websockify-fuzz-'));
    try {
      const json = path.join(dir, 'figures.json');
      const r = spawnSync(process.execPath, [FUZZ, '--seconds', '4', '--seed', '12345', '--json', json], {
        encoding: 'utf8',
        timeout: 60000,
      });
      expect(r.stdout).toMatch(/no crash, no hang, no leak\n$/);
      expect(r.status).toBe(0);
      const figures = JSON.parse(readFileSync(json, 'utf8')) as Figures;
      expect(figures.failures).toEqual([]);
      expect(figures.cases).toBeGreaterThan(50);
      expect(figures.healthChecks).toBeGreaterThanOrEqual(1);
      for (const kind of ['handshake/rfc6455', 'frames/valid', 'frames/mutated']) {
        expect(figures.byKind[kind]).toBeGreaterThan(0);
      }
      expect(figures.fdEnd).toBeLessThanOrEqual(figures.fdStart + 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([[['--seconds', '0']], [['--seconds', 'x']], [['--bogus']]])('refuses %j with status 2', (args) => {
    const r = spawnSync(process.execPath, [FUZZ, ...args], { encoding: 'utf8', timeout: 10000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^fuzz: .*\nusage: npm run fuzz -- --seconds N/);
  });
});
