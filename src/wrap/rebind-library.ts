// Owns finding rebind.so, the LD_PRELOAD library (native/rebind.c) that wrap mode
// (`websockify PORT -- CMD`) uses to move the wrapped program's bind() from the public
// port to a loopback port. Normally `npm install` builds it with node-gyp into
// build/Release/rebind.so next to the package. If that is missing (for example the
// package was installed with --ignore-scripts), it is compiled once with the system C
// compiler into a per-user cache directory. Nothing else about wrapping lives here.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_NAME, rebuildCommand } from '../config/rebuild-command.js';

/** rebind.so cannot be used here: wrong platform, or it is not built and cannot be compiled. */
export class RebindUnavailableError extends Error {
  override name = 'RebindUnavailableError';
}

export interface LocateRebindOptions {
  /** Package directory holding build/Release/rebind.so and native/rebind.c (default: this package). */
  packageRoot?: string;
  /** Base cache directory (default: $XDG_CACHE_HOME, else ~/.cache). */
  cacheDir?: string;
  /** Environment for XDG_CACHE_HOME, CC and the compiler's PATH (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Platform to assume (default: process.platform). */
  platform?: NodeJS.Platform;
}

const COMPILE_TIMEOUT_MS = 60_000;

/** This package's root: this module is two levels down, in src/wrap/ or dist/wrap/. */
export function defaultPackageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

interface CompileFailure {
  compiler: string;
  missing: boolean;
  detail: string;
}

/** Runs one compiler; resolves null on success, or what went wrong. */
function compile(
  compiler: string,
  source: string,
  output: string,
  env: NodeJS.ProcessEnv,
): Promise<CompileFailure | null> {
  const args = ['-shared', '-fPIC', '-O2', '-o', output, source, '-ldl'];
  return new Promise((resolve) => {
    execFile(compiler, args, { env, timeout: COMPILE_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) {
        resolve(null);
        return;
      }
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      const detail = missing ? 'not found' : (String(stderr).trim() || error.message).split('\n').join('\n    ');
      resolve({ compiler, missing, detail });
    });
  });
}

/**
 * Returns the absolute path of rebind.so, compiling it into the cache if the package's
 * own build is missing. Throws RebindUnavailableError, with instructions, when that fails.
 */
export async function locateRebindLibrary(options: LocateRebindOptions = {}): Promise<string> {
  const platform = options.platform ?? process.platform;
  if (platform !== 'linux') {
    throw new RebindUnavailableError(
      `wrapping a program needs LD_PRELOAD, which only works on Linux (this is ${platform})`,
    );
  }
  const env = options.env ?? process.env;
  const root = path.resolve(options.packageRoot ?? defaultPackageRoot());
  const built = path.join(root, 'build', 'Release', 'rebind.so');
  if (await isFile(built)) return built;

  const source = path.join(root, 'native', 'rebind.c');
  const howToBuild =
    `Build it with \`${rebuildCommand(root)}\` (needs python3, make and a C compiler), ` +
    `or by hand: \`mkdir -p ${path.dirname(built)} && cc -shared -fPIC -O2 -o ${built} ${source} -ldl\``;
  let code: Buffer;
  try {
    code = await readFile(source);
  } catch {
    throw new RebindUnavailableError(
      `rebind.so is not built (${built}) and its source ${source} is missing; reinstall ${PACKAGE_NAME}`,
    );
  }

  const xdg = env.XDG_CACHE_HOME;
  const cacheBase = options.cacheDir ?? (xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'));
  const key = createHash('sha256').update(process.arch).update('\0').update(code).digest('hex');
  const dir = path.join(path.resolve(cacheBase), 'websockify-node', key.slice(0, 16));
  const cached = path.join(dir, 'rebind.so');
  if (await isFile(cached)) return cached;

  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new RebindUnavailableError(
      `rebind.so is not built (${built}) and the cache directory ${dir} cannot be created ` +
        `(${(error as Error).message}). ${howToBuild}`,
    );
  }
  // Compile to a private name, then rename: concurrent starts never see a partial file.
  const temp = path.join(dir, `.rebind-${process.pid}-${randomBytes(6).toString('hex')}.so`);
  const compilers = [...new Set([env.CC, 'cc', 'gcc'].filter((c): c is string => !!c))];
  const failures: CompileFailure[] = [];
  try {
    for (const compiler of compilers) {
      const failure = await compile(compiler, source, temp, env);
      if (!failure) {
        await rename(temp, cached);
        return cached;
      }
      failures.push(failure);
      if (!failure.missing) break; // it ran and failed: another compiler won't do better
    }
  } finally {
    await rm(temp, { force: true });
  }
  const tried = failures.map((f) => `  ${f.compiler}: ${f.detail}`).join('\n');
  throw new RebindUnavailableError(
    `rebind.so is not built (${built}) and compiling ${source} failed:\n${tried}\n${howToBuild}`,
  );
}
