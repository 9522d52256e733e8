// The web server (--web, --file-only) on the proxy's port, with real HTTP requests written by
// hand on raw sockets (so no client normalises a hostile path away): files byte-exact, MIME
// types, Range and conditional GET through `send`, index files, redirects, the HTML-escaped
// listing, --file-only, the method table with and without --web, WebSocket upgrades on a file's
// path, a table of hostile paths that must never reveal a file outside the root, and the CLI
// (start-up errors, banner, request log).

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startWebsockify, type WebsockifyServer } from '../src/index.js';
import { startCliForTest, runToExit } from './helpers/cli.js';
import { openClient, rawExchange } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { withTimeout } from './helpers/wait.js';
import { echoTarget, type TestTarget } from './helpers/targets.js';
import { WORKER_MODES } from './helpers/workers.js';

/** Written next to the web root (and in a dotfile inside it): must never appear in a response. */
const MARKER = 'SECRET-MARKER-5d1c0e';
const ODD_NAME = `<b>&"x'.txt`;
const BYTES = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 151 + (i >> 8)) & 0xff));

let tmp: string;
let root: string;
let target: TestTarget;
const servers: WebsockifyServer[] = [];
let port: number; // --web root
let fileOnlyPort: number; // --web root --file-only
let noWebPort: number; // no --web

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'websockify-web-'));
  root = path.join(tmp, 'www');
  writeFileSync(path.join(tmp, 'secret.txt'), MARKER);
  mkdirSync(path.join(root, 'app'), { recursive: true });
  mkdirSync(path.join(root, 'listing', 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'bytes.bin'), BYTES);
  writeFileSync(path.join(root, 'app', 'index.html'), '<p>app</p>\n');
  writeFileSync(path.join(root, 'listing', ODD_NAME), 'odd\n');
  writeFileSync(path.join(root, 'listing', 'plain.txt'), 'plain\n');
  writeFileSync(path.join(root, 'listing', '.hidden'), MARKER);
  writeFileSync(path.join(root, '.env'), MARKER);
  for (const ext of ['html', 'js', 'mjs', 'css', 'svg', 'wasm', 'json', 'txt']) {
    writeFileSync(path.join(root, `a.${ext}`), `content of a.${ext}\n`);
  }
  symlinkSync('/etc', path.join(root, 'etc')); // so that `//etc/passwd` has something to find
  symlinkSync('../secret.txt', path.join(root, 'secret-link.txt'));
  symlinkSync('..', path.join(root, 'up'));
  symlinkSync('bytes.bin', path.join(root, 'inner-link.bin'));
  // Symlinks with ordinary names that lead to dotfiles inside the root (issue 12, item 3).
  mkdirSync(path.join(root, '.git'));
  writeFileSync(path.join(root, '.git', 'config'), MARKER);
  symlinkSync('.git', path.join(root, 'gitlink'));
  symlinkSync('.env', path.join(root, 'envlink'));
  symlinkSync('.hidden', path.join(root, 'listing', 'hidden-link'));
  symlinkSync('../.git', path.join(root, 'listing', 'git-dir'));
  symlinkSync('../.git/config', path.join(root, 'listing', 'git-config'));
  symlinkSync('../../secret.txt', path.join(root, 'listing', 'outside'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);

  target = await echoTarget();
  const start = async (options: { web?: string; fileOnly?: boolean }): Promise<number> => {
    const started = await startProxy({ target: `127.0.0.1:${target.port}`, ...options });
    servers.push(started.server);
    return started.port;
  };
  port = await start({ web: root });
  fileOnlyPort = await start({ web: root, fileOnly: true });
  noWebPort = await start({});
});

afterAll(async () => {
  await Promise.all(servers.map((s) => withTimeout(s.close(), 10000, 'server close')));
  await target.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface Response {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  raw: string;
}

/** Sends one request exactly as written (request line `METHOD TARGET`) and parses the answer. */
async function request(
  requestLine: string,
  { headers = [], body = '', to = port }: { headers?: string[]; body?: string; to?: number } = {},
): Promise<Response> {
  const lines = [`${requestLine} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers];
  if (body) lines.push(`Content-Length: ${body.length}`);
  const raw = await rawExchange(to, lines.join('\r\n') + '\r\n\r\n' + body, 10000);
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).split('\r\n');
  const parsed: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head[0]!)?.[1]),
    headers: parsed,
    body: Buffer.from(raw.slice(split + 4), 'latin1'),
    raw,
  };
}

const get = (urlPath: string, headers: string[] = [], to = port): Promise<Response> =>
  request(`GET ${urlPath}`, { headers, to });

describe('files', () => {
  it('serves a file byte-exact with its length, ETag and Last-Modified', async () => {
    const r = await get('/bytes.bin');
    expect(r.status).toBe(200);
    expect(r.body.equals(BYTES)).toBe(true);
    expect(r.headers['content-length']).toBe(String(BYTES.length));
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers.etag).toMatch(/^W\/".+"$/);
    expect(Date.parse(r.headers['last-modified']!)).toBeGreaterThan(0);
  });

  it('HEAD gives the same headers and no body', async () => {
    const r = await request('HEAD /bytes.bin');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(BYTES.length));
    expect(r.body.length).toBe(0);
  });

  it('ignores the query string and follows a symlink that stays inside the root', async () => {
    expect((await get('/bytes.bin?v=3#x')).body.equals(BYTES)).toBe(true);
    expect((await get('/inner-link.bin')).body.equals(BYTES)).toBe(true);
  });

  it('decodes percent-encoded names', async () => {
    const r = await get(`/listing/${encodeURIComponent(ODD_NAME)}`);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('odd\n');
  });

  it.each([
    ['html', 'text/html; charset=utf-8'],
    ['js', 'text/javascript; charset=utf-8'],
    ['mjs', 'text/javascript; charset=utf-8'],
    ['css', 'text/css; charset=utf-8'],
    ['svg', 'image/svg+xml'],
    ['wasm', 'application/wasm'],
    ['json', 'application/json; charset=utf-8'],
    ['txt', 'text/plain; charset=utf-8'],
  ])('.%s is served as %s', async (ext, type) => {
    const r = await get(`/a.${ext}`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(type);
    expect(r.body.toString()).toBe(`content of a.${ext}\n`);
  });
});

describe('ranges and conditional requests', () => {
  it('a range gives 206 with Content-Range and exactly those bytes', async () => {
    const r = await get('/bytes.bin', ['Range: bytes=1000-1999']);
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 1000-1999/${BYTES.length}`);
    expect(r.body.equals(BYTES.subarray(1000, 2000))).toBe(true);
  });

  it('a suffix range gives the last bytes', async () => {
    const r = await get('/bytes.bin', ['Range: bytes=-7']);
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes ${BYTES.length - 7}-${BYTES.length - 1}/${BYTES.length}`);
    expect(r.body.equals(BYTES.subarray(BYTES.length - 7))).toBe(true);
  });

  it('an unsatisfiable range gives 416 with the length', async () => {
    const r = await get('/bytes.bin', [`Range: bytes=${BYTES.length}-`]);
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe(`bytes */${BYTES.length}`);
    expect(r.body.includes(BYTES.subarray(0, 64))).toBe(false);
  });

  it('If-None-Match with the ETag gives 304 and no body', async () => {
    const { headers } = await get('/bytes.bin');
    const r = await get('/bytes.bin', [`If-None-Match: ${headers.etag}`]);
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
    expect((await get('/bytes.bin', ['If-None-Match: "other"'])).status).toBe(200);
  });

  it('If-Modified-Since with the Last-Modified date gives 304', async () => {
    const { headers } = await get('/a.txt');
    const r = await get('/a.txt', [`If-Modified-Since: ${headers['last-modified']}`]);
    expect(r.status).toBe(304);
    expect(r.body.length).toBe(0);
  });
});

describe('directories', () => {
  it('serves index.html for a directory', async () => {
    const r = await get('/app/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body.toString()).toBe('<p>app</p>\n');
  });

  it('redirects a directory without its slash to the slash form, keeping the query', async () => {
    const r = await get('/app?token=abc');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/app/?token=abc');
  });

  it('never redirects off-site (a doubled slash is not kept in Location)', async () => {
    const r = await get('//app');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/app/');
  });

  it('lists a directory with names HTML-escaped and links percent-encoded; dotfiles left out', async () => {
    const r = await get('/listing/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = r.body.toString();
    expect(html).toContain('<title>Directory listing for /listing/</title>');
    expect(html).toContain('<li><a href="./%3Cb%3E%26%22x&#39;.txt">&lt;b&gt;&amp;&quot;x&#39;.txt</a></li>');
    expect(html).toContain('<li><a href="./plain.txt">plain.txt</a></li>');
    expect(html).toContain('<li><a href="./sub/">sub/</a></li>');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('.hidden');
    expect(html).not.toContain(MARKER);
    // Entries whose names are fine but that lead to a dotfile, or out of the root, are not listed.
    for (const name of ['hidden-link', 'git-dir', 'git-config', 'outside']) expect(html).not.toContain(name);
    expect(html.match(/<li>/g)).toHaveLength(3);
    // Following the listed link (as a browser would resolve it) finds the file.
    const href = /href="\.\/(%3Cb[^"]*)"/.exec(html)![1]!.replace(/&#39;/g, "'");
    expect((await get(`/listing/${href}`)).body.toString()).toBe('odd\n');
  });

  it('with --file-only a directory without index is 404, and index files are still served', async () => {
    const listing = await get('/listing/', [], fileOnlyPort);
    expect(listing.status).toBe(404);
    expect(listing.body.toString()).not.toContain('plain.txt');
    expect((await get('/app/', [], fileOnlyPort)).body.toString()).toBe('<p>app</p>\n');
    expect((await get('/bytes.bin', [], fileOnlyPort)).body.equals(BYTES)).toBe(true);
  });

  it('a file asked for as a directory is not found', async () => {
    expect((await get('/a.txt/')).status).toBe(404);
  });
});

describe('methods (the reference table)', () => {
  it.each([
    ['GET', 200],
    ['HEAD', 200],
    ['POST', 405],
    ['PUT', 405],
    ['PATCH', 405],
    ['DELETE', 405],
    ['OPTIONS', 405],
    ['TRACE', 501],
    ['PROPFIND', 501],
    ['MKCOL', 501],
  ])('with --web, %s gets %i', async (method, status) => {
    const r = await request(`${method} /a.txt`, { body: method === 'POST' || method === 'PUT' ? 'x=1' : '' });
    expect(r.status).toBe(status);
    if (status === 405) expect(r.headers.allow).toBe('GET, HEAD');
    if (status !== 200) expect(r.body.toString()).not.toContain('content of a.txt');
  });

  it.each([
    ['GET', 405],
    ['HEAD', 405],
    ['POST', 405],
    ['OPTIONS', 405],
    ['TRACE', 501],
  ])('without --web, %s gets %i', async (method, status) => {
    const r = await request(`${method} /a.txt`, { to: noWebPort });
    expect(r.status).toBe(status);
    if (status === 405) expect(r.headers.allow).toBe('');
  });

  it('CONNECT gets 501', async () => {
    expect((await request('CONNECT 127.0.0.1:22')).status).toBe(501);
  });
});

it('a WebSocket upgrade on the path of a file is proxied, not served', async () => {
  const c = await openClient(`ws://127.0.0.1:${port}/bytes.bin`, 'binary');
  try {
    const data = Buffer.from('through the proxy');
    c.ws.send(data);
    expect((await c.waitForBytes(data.length)).equals(data)).toBe(true);
  } finally {
    c.ws.terminate();
  }
});

describe('no path leaves the web root', () => {
  it.each([
    ['GET /../etc/passwd', [403]],
    ['GET /..%2fetc/passwd', [400]],
    ['GET /%2e%2e/%2e%2e/etc/passwd', [403]],
    ['GET /%2E%2E/secret.txt', [403]],
    ['GET /%2e%2e%5c..', [400]],
    ['GET /..\\secret.txt', [400]],
    ['GET //etc/passwd', [404]],
    ['GET /etc/passwd', [404]],
    ['GET /etc/', [404]],
    ['GET /foo/../../etc/passwd', [403]],
    ['GET /listing/%2e%2e/%2e%2e/secret.txt', [403]],
    ['GET /%00', [400]],
    ['GET /a%00.html', [400]],
    ['GET /bytes.bin%00.txt', [400]],
    ['GET /%c0%ae%c0%ae/', [400]],
    ['GET /%252e%252e/secret.txt', [404]],
    ['GET /.../', [404]],
    ['GET /secret-link.txt', [404]],
    ['GET /up/secret.txt', [404]],
    ['GET /up/', [404]],
    ['GET /.env', [404]],
    ['GET /listing/.hidden', [404]],
    ['GET /%2eenv', [404]],
    ['GET /fifo', [404]],
    ['GET /gitlink/config', [404]],
    ['GET /gitlink/', [404]],
    ['GET /gitlink', [404]],
    ['GET /envlink', [404]],
    ['GET /listing/hidden-link', [404]],
    ['GET /listing/git-dir/config', [404]],
    ['GET /listing/git-config', [404]],
    ['HEAD /gitlink/config', [404]],
    ['GET http://x/../../etc/passwd', [403]],
    ['GET http://x/up/secret.txt', [404]],
    ['GET *', [400]],
    ['HEAD /../secret.txt', [403]],
  ])('%s is refused', async (requestLine, statuses) => {
    const r = await request(requestLine);
    expect(statuses).toContain(r.status);
    expect(r.raw).not.toContain(MARKER);
    expect(r.raw).not.toMatch(/root:.*:0:0:/);
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('the command line', () => {
    it('a missing web root is a start-up error naming --web (exit 2)', async () => {
      const missing = path.join(tmp, 'nope');
      const r = await runToExit([...workers, '--web', missing, '127.0.0.1:0', '127.0.0.1:9']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^websockify: error: option --web: web root .*nope: ENOENT\n/);
    });

    it('the library refuses an empty web root (it would be the start directory): ConfigError naming web', async () => {
      await expect(
        startWebsockify({ listen: { host: '127.0.0.1', port: 0 }, target: '127.0.0.1:9', web: '' }),
      ).rejects.toThrow(
        expect.objectContaining({
          name: 'ConfigError',
          code: 'ERR_OPTION_VALUE',
          option: 'web',
          message: 'option web: web root is empty (give a directory)',
        }),
      );
    });

    it('a web root that is a file is a start-up error naming --web (exit 2)', async () => {
      const r = await runToExit([...workers, '--web', path.join(root, 'a.txt'), '127.0.0.1:0', '127.0.0.1:9']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^websockify: error: option --web: web root .*a\.txt is not a directory\n/);
    });

    it('resolves a relative root once, shows it in the banner, serves it and logs requests with -v', async () => {
      const relative = path.relative(process.cwd(), root);
      const cli = await startCliForTest([
        ...workers,
        '-v',
        '--web',
        relative,
        '127.0.0.1:0',
        `127.0.0.1:${target.port}`,
      ]);
      expect(cli.stderr()).toContain(`  - Web server. Web root: ${root}\n`);
      expect((await get('/bytes.bin', [], cli.port)).body.equals(BYTES)).toBe(true);
      await cli.waitForStderr(/: "GET \/bytes\.bin HTTP\/1\.1" 200 70000\n/);
      expect((await get('/../x', [], cli.port)).status).toBe(403);
      await cli.waitForStderr(/127\.0\.0\.1: code 403, message parent directory in the path\n/);
    });

    it('--file-only shows in the banner and refuses listings', async () => {
      const cli = await startCliForTest([
        ...workers,
        '--web',
        root,
        '--file-only',
        '127.0.0.1:0',
        `127.0.0.1:${target.port}`,
      ]);
      expect(cli.stderr()).toContain(`  - Web server (no directory listings). Web root: ${root}\n`);
      expect((await get('/listing/', [], cli.port)).status).toBe(404);
      // Without -v the request itself is not logged; the error line is.
      await cli.waitForStderr(/code 404, message File not found \(no directory listings: --file-only\)\n/);
      expect(cli.stderr()).not.toContain('"GET');
    });
  });
});
