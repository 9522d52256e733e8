// Serving files from the web root (--web DIR). Paths arrive already checked by request-path.ts;
// here every one is resolved to its real path and refused unless it stays inside the root's
// real path and names no dotfile there, so a symlink leading out of DIR or to a dotfile in it is
// not followed (nor listed). The file itself goes out through
// `send` (expressjs): Range, ETag, Last-Modified, conditional GET, MIME types, HEAD.

import { realpathSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { directoryListing } from './directory-listing.js';
import { urlPathOf, type WebPath } from './request-path.js';

type Send = typeof import('send');
let sendModule: Promise<Send> | undefined;
/**
 * `send` is imported on the first file served, not at start: with it comes mime-db, a large
 * object that would sit in the heap of every proxy, --web or not, and each full GC (frequent
 * under buffer churn) must mark all of it (BENCHMARKS.md).
 */
function loadSend(): Promise<Send> {
  sendModule ??= import('send').then((m) => m.default as Send);
  return sendModule;
}

/** A request the web server answers with an error status; `reason` is for the log. */
export interface WebFailure {
  status: number;
  reason: string;
  headers?: Record<string, string> | undefined;
}

export interface StaticFilesOptions {
  /** The web root, absolute. Its real path is taken once, now. */
  root: string;
  /** No directory listings (--file-only): a directory without an index file is not found. */
  fileOnly: boolean;
}

/** Answers a GET or HEAD for `target`; resolves to a failure the caller answers, if any. */
export type StaticFiles = (
  req: IncomingMessage,
  res: ServerResponse,
  target: WebPath,
) => Promise<WebFailure | undefined>;

const INDEX_FILES = ['index.html', 'index.htm'];

const NOT_FOUND: WebFailure = { status: 404, reason: 'File not found' };

export function createStaticFiles(options: StaticFilesOptions): StaticFiles {
  const root = realpathSync(options.root);

  /** The real path of `candidate` with its stats, or a failure when missing or outside the root. */
  async function resolveInside(candidate: string): Promise<{ real: string; stats: Stats } | WebFailure> {
    let real: string;
    let stats: Stats;
    try {
      real = await realpath(candidate);
      stats = await stat(real);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'EACCES' ? { status: 403, reason: 'Permission denied' } : NOT_FOUND;
    }
    if (real !== root && !real.startsWith(root + path.sep)) {
      return { status: 404, reason: 'File not found (a symlink leads out of the web root)' };
    }
    // The URL's names were checked already; a symlink (`gitlink -> .git`) can still lead to one.
    if (
      path
        .relative(root, real)
        .split(path.sep)
        .some((name) => name.startsWith('.'))
    ) {
      return { status: 404, reason: 'File not found (a symlink leads to a dotfile)' };
    }
    return { real, stats };
  }

  async function sendFile(req: IncomingMessage, res: ServerResponse, real: string): Promise<WebFailure | undefined> {
    const relative = path.relative(root, real).split(path.sep);
    const send = await loadSend();
    return new Promise((resolve) => {
      const stream = send(req, urlPathOf(relative, false), { root, index: false, dotfiles: 'allow' });
      stream.on('error', (err: { status?: number; message: string; headers?: Record<string, string> }) =>
        resolve({ status: err.status ?? 500, reason: err.message, headers: err.headers }),
      );
      res.once('close', () => resolve(undefined));
      stream.pipe(res);
    });
  }

  async function serveDirectory(
    req: IncomingMessage,
    res: ServerResponse,
    target: WebPath,
    real: string,
  ): Promise<WebFailure | undefined> {
    if (!target.trailingSlash) {
      // Built from the checked segments, never from the raw target (`//host` would redirect off-site).
      res.writeHead(301, { Location: urlPathOf(target.segments, true) + target.query, 'Content-Length': 0 });
      res.end();
      return undefined;
    }
    for (const name of INDEX_FILES) {
      const index = await resolveInside(path.join(real, name));
      if ('real' in index && index.stats.isFile()) return sendFile(req, res, index.real);
    }
    if (options.fileOnly) return { status: 404, reason: 'File not found (no directory listings: --file-only)' };
    const shown = '/' + target.segments.map((s) => s + '/').join('');
    let body: string;
    try {
      // Only what would be served: no entry that leads to a dotfile or out of the root.
      const served = async (name: string): Promise<boolean> => 'real' in (await resolveInside(path.join(real, name)));
      body = await directoryListing(real, shown, served);
    } catch (err) {
      return { status: 403, reason: `No permission to list directory (${(err as NodeJS.ErrnoException).code})` };
    }
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Content-Security-Policy': "default-src 'none'",
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return undefined;
  }

  return async (req, res, target) => {
    const found = await resolveInside(path.join(root, ...target.segments));
    if (!('real' in found)) return found;
    if (found.stats.isDirectory()) return serveDirectory(req, res, target, found.real);
    // Sockets, FIFOs and devices are never served (reading a FIFO would hang the response).
    if (!found.stats.isFile() || target.trailingSlash) return NOT_FOUND;
    return sendFile(req, res, found.real);
  };
}
