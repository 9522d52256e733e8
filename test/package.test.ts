// The package as npm ships it: `npm pack`'s tarball holds what an install needs and nothing
// tests-only (no source maps pointing to unshipped sources), and installed into a fresh
// project (its lockfile made from ours, so `npm ci --offline` installs from npm's cache and
// never reaches a registry) it builds its native parts, answers --version, proxies a
// byte-exact echo and wraps a program, all from the installed copy.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defer } from './helpers/cleanup.js';
import { clientForTest, expectEcho, expectHello, wrapServerCommand } from './helpers/per-test.js';
import { pattern } from './helpers/bytes.js';
import { type CliProcess, runCli } from './helpers/cli.js';
import { childrenOf, isAlive } from './helpers/procfs.js';
import { eventually } from './helpers/wait.js';
import { echoTarget, unusedPort } from './helpers/targets.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const run = promisify(execFile);

let dir: string;
let tarball: string;
let files: string[];
let installed: string;
let project: string;
let bin: string;

interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

/** A lockfile for a project that depends on the tarball: our production entries, hoisted alike. */
async function freshProject(project: string): Promise<void> {
  const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const ours = lock.packages['']!;
  const spec = `file:${path.relative(project, tarball)}`;
  const integrity = `sha512-${createHash('sha512')
    .update(await readFile(tarball))
    .digest('base64')}`;
  const root = { name: 'fresh', version: '1.0.0', dependencies: { [PKG.name]: spec } };
  const packages: Record<string, unknown> = {
    '': root,
    [`node_modules/${PKG.name}`]: {
      version: PKG.version,
      resolved: spec,
      integrity,
      hasInstallScript: true,
      license: ours.license,
      dependencies: ours.dependencies,
      optionalDependencies: ours.optionalDependencies,
      bin: ours.bin,
      engines: ours.engines,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key.startsWith('node_modules/') && !entry.dev) packages[key] = entry;
  }
  await writeFile(path.join(project, 'package.json'), JSON.stringify(root));
  await writeFile(
    path.join(project, 'package-lock.json'),
    JSON.stringify({ name: 'fresh', version: '1.0.0', lockfileVersion: 3, requires: true, packages }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-pack-'));
  // `npm test` has just built dist/, web/build/ and man/: pack them as they are.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    timeout: 120000,
  });
  const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  tarball = path.join(dir, info.filename);
  files = info.files.map((f) => f.path).sort();
  project = path.join(dir, 'project');
  await run('mkdir', [project]);
  await freshProject(project);
  await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project, timeout: 300000 });
  installed = path.join(project, 'node_modules', PKG.name);
  bin = path.join(project, 'node_modules', '.bin', 'websockify');
}, 400000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function installedCli(args: string[]): CliProcess {
  const p = runCli(args, process.env, { via: [bin] });
  defer(() => p.kill());
  return p;
}

describe('npm pack', () => {
  it('ships the command, the built code and types, the native sources, the man page, contrib/ and LICENSE', () => {
    for (const file of [
      'LICENSE',
      'README.md',
      'docs/deployment.md',
      'bin/websockify',
      'bin/websockify.js',
      'binding.gyp',
      'native/rebind.c',
      'native/init.c',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/client/node.d.ts',
      'man/websockify.1',
      'contrib/systemd/websockify.socket',
      'contrib/systemd/websockify.service',
      'contrib/inetd/inetd.conf',
      'web/index.html',
      'web/build/terminal.js',
    ]) {
      expect(files).toContain(file);
    }
  });

  it('ships no source maps, no sources of the bundles, no tests and no build output', () => {
    const unwanted = files.filter((f) => /\.map$|^(src|test|bench|web\/src|build|scripts)\//.test(f));
    expect(unwanted).toEqual([]);
  });
});

describe('installed into a fresh project from the tarball', () => {
  it('built rebind.so and websockify-init at install', () => {
    for (const part of ['rebind.so', 'websockify-init']) {
      expect(existsSync(path.join(installed, 'build', 'Release', part))).toBe(true);
    }
  });

  it('websockify --version prints the version', async () => {
    const { stdout } = await run(bin, ['--version'], { timeout: 30000 });
    expect(stdout).toBe(`${PKG.version}\n`);
  });

  it('proxies a byte-exact echo', async () => {
    const t = await echoTarget();
    defer(() => t.close());
    const p = installedCli(['127.0.0.1:0', `127.0.0.1:${t.port}`]);
    const port = Number((await p.waitForStderr(/Listen on 127\.0\.0\.1:(\d+)/))[1]);
    const c = await clientForTest(`ws://127.0.0.1:${port}/`);
    const bytes = pattern(0, 100000);
    c.ws.send(bytes);
    expect((await c.waitForBytes(bytes.length)).equals(bytes)).toBe(true);
    await expectEcho(c, 'and text');
  });

  it('wraps a program with its own rebind.so', async () => {
    const port = await unusedPort();
    const p = installedCli([`127.0.0.1:${port}`, ...wrapServerCommand(port)]);
    await p.waitForStderr(/Listen on 127\.0\.0\.1:\d+/);
    const c = await clientForTest(`ws://127.0.0.1:${port}/`);
    await expectHello(c);
    await expectEcho(c, 'wrapped');
    expect(p.stderr()).not.toMatch(/compil/i); // rebind.so was there, nothing built on first use
  });
});

/** Moves `file` aside for the current test (as if it had not built at install). */
async function withoutFile(file: string): Promise<void> {
  await rename(file, `${file}.aside`);
  defer(() => rename(`${file}.aside`, file));
}

describe('a native part that did not build: the message names it and the command that builds it', () => {
  it('rebind.so (wrap mode), when it cannot be compiled on first use either', async () => {
    await withoutFile(path.join(installed, 'build', 'Release', 'rebind.so'));
    const cache = await mkdtemp(path.join(os.tmpdir(), 'websockify-cache-'));
    defer(() => rm(cache, { recursive: true, force: true }));
    const p = runCli(
      ['127.0.0.1:6999', '--', 'true'],
      { ...process.env, CC: '/bin/false', XDG_CACHE_HOME: cache },
      {
        via: [bin],
      },
    );
    defer(() => p.kill());
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toContain(`rebind.so is not built (${installed}/build/Release/rebind.so)`);
    expect(p.stderr()).toContain(`Build it with \`npm rebuild websockify-node (in ${project})\``);
  });

  it('unix-dgram (--syslog to a local datagram socket)', async () => {
    await withoutFile(path.join(project, 'node_modules', 'unix-dgram', 'build'));
    const p = installedCli(['--syslog', path.join(dir, 'no-such.sock'), '127.0.0.1:0', '127.0.0.1:9']);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toContain(
      `unix datagram sockets need the optional unix-dgram module, which did not build at install: ` +
        `build it with \`npm rebuild unix-dgram (in ${project})\``,
    );
  });

  it('websockify-init (as PID 1)', async () => {
    await withoutFile(path.join(installed, 'build', 'Release', 'websockify-init'));
    const p = runCli(['--version'], process.env, {
      via: ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', bin],
    });
    defer(() => p.kill());
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toBe(
      `websockify: warning: running as PID 1 without ${installed}/build/Release/websockify-init, so orphaned ` +
        `processes will not be reaped (build it with 'npm rebuild websockify-node (in ${project})', or use an ` +
        `init such as 'docker run --init')\n`,
    );
  });
});

describe('types for TypeScript users of the installed package', () => {
  const CONSUMER = [
    "import { startWebsockify, createLogger, type WebsockifyOptions } from 'websockify-node';",
    "import { Websock } from 'websockify-node/client';",
    "const options: WebsockifyOptions = { listen: { port: 0 }, target: '127.0.0.1:5900', logger: createLogger() };",
    'void startWebsockify(options);',
    "new Websock().open('ws://127.0.0.1:1/');",
    '',
  ].join('\n');
  const TSC = path.join(ROOT, 'node_modules', '.bin', 'tsc');

  it.each([
    [
      'node10 with esModuleInterop',
      'use.ts',
      { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    ],
    [
      'node10 without esModuleInterop',
      'use.ts',
      { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: false },
    ],
    ['node16 (ESM)', 'use.mts', { module: 'node16', moduleResolution: 'node16' }],
  ])(
    '%s: the package and its /client subpath type-check, declarations included',
    async (_name, file, options) => {
      const consumer = await mkdtemp(path.join(project, 'consumer-'));
      defer(() => rm(consumer, { recursive: true, force: true }));
      await writeFile(path.join(consumer, file), CONSUMER);
      const compilerOptions = {
        ...options,
        target: 'ES2022',
        strict: true,
        skipLibCheck: false, // our .d.ts files are checked too
        noEmit: true,
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      };
      await writeFile(path.join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [file] }));
      const result = await run(TSC, ['-p', consumer], { timeout: 120000 }).catch((e: { stdout: string }) => e);
      expect(result.stdout).toBe('');
    },
    150000,
  );
});

/** The instructions of the Dockerfile's last stage: ENTRYPOINT, CMD, USER, ENV, HEALTHCHECK. */
function finalStage(text: string): Map<string, string> {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const stages = joined.split(/^FROM /m);
  const map = new Map<string, string>([['FROM', stages.at(-1)!.split('\n')[0]!]]);
  for (const line of stages.at(-1)!.split('\n')) {
    const m = /^([A-Z]+) (.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

// podman and buildah cannot pull node:20-bookworm-slim here (no registry but npm's and
// Debian's), so the image is not built; its entrypoint is run as a container would run it:
// PID 1 of a new PID namespace, an unprivileged user, the installed package on PATH.
describe('Dockerfile: the entrypoint as PID 1 of a PID namespace (unshare), unprivileged', () => {
  it('websockify-init is PID 1, proxies byte-exact, the HEALTHCHECK passes, SIGTERM exits 0', async () => {
    const docker = finalStage(await readFile(path.join(ROOT, 'Dockerfile'), 'utf8'));
    expect(docker.get('FROM')).toBe('node:20-bookworm-slim');
    expect(docker.get('USER')).toBe('node');
    expect(JSON.parse(docker.get('ENTRYPOINT')!)).toEqual(['websockify']);
    const cmd = JSON.parse(docker.get('CMD')!) as string[];
    expect(cmd).toEqual(['6080', '127.0.0.1:5900']);
    const health = /^(?:--\S+\s+)+CMD (\[.*\])$/.exec(docker.get('HEALTHCHECK')!);
    const check = JSON.parse(health![1]!) as string[];
    expect(check.slice(0, 2)).toEqual(['node', '-e']);
    // The check asks the health endpoint (503 while draining), on the CMD's port.
    const healthUrl = /WEBSOCKIFY_HEALTH_URL=(\S+)/.exec(docker.get('ENV')!)![1]!;
    expect(healthUrl).toBe('http://127.0.0.1:6080/healthz');

    const t = await echoTarget();
    defer(() => t.close());
    const port = await unusedPort(); // instead of 6080
    const args = [String(port), `127.0.0.1:${t.port}`];
    await chmod(dir, 0o755); // the installed copy must be readable by the unprivileged user
    // `node` (uid 1000 in the image) is nobody here; PATH has the installed command first.
    const env = { ...process.env, PATH: `${path.dirname(bin)}:${process.env.PATH ?? ''}` };
    const ns = runCli(args, env, {
      via: [
        'unshare',
        '--pid',
        '--fork',
        '--mount-proc',
        '--kill-child',
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
        'websockify',
      ],
    });
    defer(() => ns.kill());
    await ns.waitForStderr(new RegExp(`Listen on 0\\.0\\.0\\.0:${port}`));
    const [pid1] = childrenOf(ns.child.pid!);
    expect(readFileSync(`/proc/${pid1}/comm`, 'utf8')).toBe('websockify-init\n');
    expect(readFileSync(`/proc/${pid1}/status`, 'utf8')).toMatch(/^Uid:\t65534\t/m);
    const [node] = childrenOf(pid1!);
    expect(readFileSync(`/proc/${node}/comm`, 'utf8')).toBe('node\n');

    const c = await clientForTest(`ws://127.0.0.1:${port}/`);
    const bytes = pattern(8, 50000);
    c.ws.send(bytes);
    expect((await c.waitForBytes(bytes.length)).equals(bytes)).toBe(true);

    // The HEALTHCHECK command (the container shares its network namespace with it).
    const healthy = await run(check[0] === 'node' ? process.execPath : check[0]!, check.slice(1), {
      env: { ...process.env, WEBSOCKIFY_HEALTH_URL: healthUrl.replace(':6080/', `:${port}/`) },
      timeout: 30000,
    }).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(healthy).toBe(0);
    const unhealthy = await run(process.execPath, check.slice(1), {
      env: { ...process.env, WEBSOCKIFY_HEALTH_URL: `http://127.0.0.1:${await unusedPort()}/` },
      timeout: 30000,
    }).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(unhealthy).toBe(1);

    process.kill(pid1!, 'SIGTERM'); // docker stop
    expect((await c.closed).code).toBe(1001);
    expect(await ns.exited).toBe(0);
    await eventually(() => !isAlive(node!), 'node to end');
  });
});
