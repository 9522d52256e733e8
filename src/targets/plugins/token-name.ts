// What plugins that turn a token into a file name share: the token must be one path component
// (never `.` or `..`, no NUL, no slash), and "no such file" errors mean an unknown token, not
// a broken plugin.

/** The token as a file name inside a directory, or undefined when it cannot be one. */
export function tokenAsFileName(token: string): string | undefined {
  if (token === '' || token === '.' || token === '..') return undefined;
  if (token.includes('/') || token.includes('\0')) return undefined;
  return token;
}

const NO_SUCH_FILE = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG', 'ELOOP']);

/** True for file system errors that only say the token's file does not exist (as a file). */
export function isNoSuchFile(err: unknown): boolean {
  return NO_SUCH_FILE.has((err as NodeJS.ErrnoException).code ?? '');
}
