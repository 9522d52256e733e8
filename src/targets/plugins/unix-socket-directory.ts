// UnixDomainSocketDirectory: the token names a unix-domain socket in a directory. Unlike the
// reference, the token must be a single file name and the socket's real path must lie inside
// the directory's real path, so neither `..` nor a symlink leads elsewhere.

import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TokenPlugin } from './plugin.js';
import { isNoSuchFile, tokenAsFileName } from './token-name.js';
import { badSource } from '../../errors/config-error.js';

export function createUnixSocketDirectory(source: string | undefined): TokenPlugin {
  if (!source) throw badSource('tokenSource', (s) => `UnixDomainSocketDirectory needs ${s} (a directory)`);
  const dir = path.resolve(source);
  return {
    async lookup(token) {
      const name = tokenAsFileName(token);
      if (name === undefined) return undefined;
      try {
        const [real, root] = await Promise.all([realpath(path.join(dir, name)), realpath(dir)]);
        if (!real.startsWith(root + path.sep) || !(await stat(real)).isSocket()) return undefined;
        return { kind: 'unix', path: real };
      } catch (err) {
        if (isNoSuchFile(err)) return undefined;
        throw err;
      }
    },
  };
}
