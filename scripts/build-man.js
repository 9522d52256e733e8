// Build step: writes man/websockify.1 from the compiled option table (dist/), so the man page
// always lists the options of this build.
import { mkdirSync, writeFileSync } from 'node:fs';

const { manPage } = await import('../dist/cli/man-page.js');
const { VERSION } = await import('../dist/version.js');
const out = new URL('../man/websockify.1', import.meta.url);
mkdirSync(new URL('.', out), { recursive: true });
writeFileSync(out, manPage(VERSION));
