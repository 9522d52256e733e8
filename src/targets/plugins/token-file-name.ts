// TokenFileName: the token names a file in a directory, and that file holds the target
// (`host:port`, `[v6]:port` or `unix_socket:/path`). Only the token's last path component is
// used, so a token can never name a file outside the directory.

import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PluginContext } from '../../config/plugin-loader.js';
import type { TokenPlugin } from './plugin.js';
import { parseTargetText } from './target-text.js';
import { isNoSuchFile, tokenAsFileName } from './token-name.js';
import { badSource } from '../../errors/config-error.js';

export function createTokenFileName(source: string | undefined, { logger }: PluginContext): TokenPlugin {
  if (!source) throw badSource('tokenSource', (s) => `TokenFileName needs ${s} (a directory)`);
  const dir = path.resolve(source);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`TokenFileName: token source '${source}' is not a directory`);
  }
  return {
    async lookup(token) {
      const name = tokenAsFileName(path.basename(token));
      if (name === undefined) return undefined;
      const file = path.join(dir, name);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if (isNoSuchFile(err)) return undefined;
        throw err;
      }
      const target = parseTargetText(text);
      if (target === undefined) logger.warn(`Syntax error in ${file}: expected host:port`);
      return target;
    },
  };
}
