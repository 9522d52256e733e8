// Turns an HTTP request target into path segments under the web root, or a refusal. This is the
// first of the two guards that keep requests inside the root (the second is the real-path check
// in static-files.ts): nothing that could climb out or smuggle a separator gets through.

/** A request target reduced to safe, decoded path segments. */
export interface WebPath {
  kind: 'path';
  /** Decoded names, none empty, none `.`/`..`, none holding `/`, `\` or NUL. */
  segments: string[];
  /** The target asked for a directory (`/dir/`); files requested this way are not found. */
  trailingSlash: boolean;
  /** The query, with its `?`, or ''. Kept for redirects. */
  query: string;
}

/** Why a request target is refused, with the status to answer. */
export interface Refusal {
  kind: 'refused';
  status: 400 | 403 | 404;
  reason: string;
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

function refuse(status: Refusal['status'], reason: string): Refusal {
  return { kind: 'refused', status, reason };
}

/**
 * Parses an origin-form (`/a/b?q`) or absolute-form (`http://host/a/b`) target. Each segment is
 * percent-decoded on its own, so `%2f`, `%5c` and `%00` can only appear inside a name, where
 * they are refused. Empty and `.` segments are dropped like the reference does; `..` is refused
 * instead of dropped; names starting with a dot (dotfiles) are not served.
 */
export function parseRequestPath(target: string): WebPath | Refusal {
  let path = target;
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute) path = target.slice(absolute[0].length) || '/';
  if (!path.startsWith('/')) return refuse(400, 'request target is not a path');
  const queryAt = path.search(/[?#]/);
  const query = queryAt === -1 ? '' : path.slice(queryAt).replace(/#.*$/, '');
  if (queryAt !== -1) path = path.slice(0, queryAt);

  const segments: string[] = [];
  for (const raw of path.split('/')) {
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return refuse(400, 'malformed percent-encoding');
    }
    if (/[/\\\0]/.test(name)) return refuse(400, 'encoded separator or NUL in the path');
    if (name === '' || name === '.') continue;
    if (name === '..') return refuse(403, 'parent directory in the path');
    if (name.startsWith('.')) return refuse(404, 'dotfiles are not served');
    segments.push(name);
  }
  return { kind: 'path', segments, trailingSlash: path.endsWith('/'), query };
}

/** The canonical URL path for segments: each name percent-encoded, joined with `/`. */
export function urlPathOf(segments: readonly string[], directory: boolean): string {
  const joined = '/' + segments.map(encodeURIComponent).join('/');
  return directory && segments.length > 0 ? joined + '/' : joined;
}
