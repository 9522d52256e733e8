// The command that builds a native part again, for the way this package was installed: npm
// hides the install script's output, so a part that did not build (no C compiler, scripts
// ignored) is only noticed when a feature needs it, and the message names this command.

import path from 'node:path';

export const PACKAGE_NAME = 'websockify-node';

/**
 * `packageRoot` is this package's directory; `part` is `websockify-node` (rebind.so and
 * websockify-init, built by its own install script) or a dependency such as `unix-dgram`.
 */
export function rebuildCommand(packageRoot: string, part: string = PACKAGE_NAME): string {
  const root = path.resolve(packageRoot);
  const parent = path.dirname(root);
  if (path.basename(parent) === 'node_modules') {
    // npm's global layout is PREFIX/lib/node_modules/NAME (PREFIX/node_modules/NAME on Windows).
    if (path.basename(path.dirname(parent)) === 'lib') return `npm rebuild -g ${part}`;
    return `npm rebuild ${part} (in ${path.dirname(parent)})`;
  }
  // A clone of the repository.
  return part === PACKAGE_NAME ? `cd ${root} && npx node-gyp rebuild` : `cd ${root} && npm rebuild ${part}`;
}
