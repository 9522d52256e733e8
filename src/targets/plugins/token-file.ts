// TokenFile and ReadOnlyTokenFile: tokens listed in a file, or in every regular file of a
// directory, one `token: target` line each, in the reference's grammar. TokenFile notices
// edits (by modification time and size) before each lookup; ReadOnlyTokenFile reads once, and
// again on reload() (SIGHUP), which makes TokenFile read at once too.

import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../log/logger.js';
import type { TargetSpec } from '../target.js';
import type { PluginContext } from '../../config/plugin-loader.js';
import type { TokenPlugin } from './plugin.js';
import { parseTargetText } from './target-text.js';
import { badSource } from '../../errors/config-error.js';

/** The reference's separator: a colon followed by one whitespace character. */
const SEPARATOR = /:\s/;

/**
 * Adds one file's lines to `targets`. A line is `token: target`; the token is kept verbatim
 * (spaces included), `#` lines are comments, blank lines are skipped, and anything else is
 * logged with its file and line number and ignored.
 */
export function parseTokenLines(text: string, file: string, targets: Map<string, TargetSpec>, logger: Logger): void {
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) return;
    const parts = (line + '\n').split(SEPARATOR);
    const target = parts.length === 2 ? parseTargetText(parts[1]!) : undefined;
    if (target === undefined) {
      logger.warn(`Syntax error in ${file} on line ${index + 1}`);
      return;
    }
    targets.set(parts[0]!, target);
  });
}

/** The files a source names: itself, or the regular files of a directory, sorted by name. */
async function sourceFiles(source: string): Promise<string[]> {
  if (!(await stat(source)).isDirectory()) return [source];
  const entries = await readdir(source, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const file = path.join(source, entry.name);
    // Symlinks to regular files count, as with the reference's os.path.isfile.
    if (entry.isFile() || (entry.isSymbolicLink() && (await stat(file).catch(() => undefined))?.isFile())) {
      files.push(file);
    }
  }
  return files;
}

async function loadTargets(source: string, logger: Logger): Promise<Map<string, TargetSpec>> {
  const targets = new Map<string, TargetSpec>();
  for (const file of await sourceFiles(source)) {
    parseTokenLines(await readFile(file, 'utf8'), file, targets, logger);
  }
  return targets;
}

/** A fingerprint of the source's files (names, sizes, modification times in ns). */
async function fingerprint(source: string): Promise<string> {
  const parts: string[] = [];
  const top = await stat(source, { bigint: true });
  parts.push(`${top.mtimeNs}`);
  if (top.isDirectory()) {
    for (const file of await sourceFiles(source)) {
      const s = await stat(file, { bigint: true });
      parts.push(`${file}\0${s.size}\0${s.mtimeNs}\0${s.ino}`);
    }
  } else {
    parts.push(`${top.size}\0${top.ino}`);
  }
  return parts.join('\n');
}

function requireSource(source: string | undefined, plugin: string): string {
  if (!source) throw badSource('tokenSource', (s) => `${plugin} needs ${s} (a token file or a directory of them)`);
  return path.resolve(source);
}

/** Reads the file or directory on first use and keeps the result. */
export function createReadOnlyTokenFile(source: string | undefined, { logger }: PluginContext): TokenPlugin {
  const file = requireSource(source, 'ReadOnlyTokenFile');
  let targets: Promise<Map<string, TargetSpec>> | undefined;
  return {
    async reload() {
      const next = loadTargets(file, logger);
      await next; // a read that fails keeps the old list (and is logged by the caller)
      targets = next;
    },
    async lookup(token) {
      targets ??= loadTargets(file, logger);
      try {
        return (await targets).get(token);
      } catch (err) {
        targets = undefined; // a failed read is tried again next time
        throw err;
      }
    },
  };
}

/** Re-reads the file or directory whenever a file in it changed since the last lookup. */
export function createTokenFile(source: string | undefined, { logger }: PluginContext): TokenPlugin {
  const file = requireSource(source, 'TokenFile');
  let cached: { print: string; targets: Map<string, TargetSpec> } | undefined;
  return {
    async reload() {
      cached = { print: await fingerprint(file), targets: await loadTargets(file, logger) };
    },
    async lookup(token) {
      const print = await fingerprint(file);
      if (cached?.print !== print) cached = { print, targets: await loadTargets(file, logger) };
      return cached.targets.get(token);
    },
  };
}
