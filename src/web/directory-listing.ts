// The HTML page listing a directory of the web root (when --file-only is off). Every name is
// HTML-escaped and every link percent-encoded, so a file name cannot inject markup or a URL.
// Dotfiles are left out, as they are not served, and so is any entry the caller says would not be
// served (a symlink leading to a dotfile or out of the root).

import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

function entryLine(entry: Dirent): string {
  const directory = entry.isDirectory();
  const shown = entry.name + (directory ? '/' : '');
  // `./` keeps a name such as `javascript:x` a relative link even before encoding.
  const href = './' + encodeURIComponent(entry.name) + (directory ? '/' : '');
  return `<li><a href="${escapeHtml(href)}">${escapeHtml(shown)}</a></li>`;
}

/**
 * Renders the listing of `directory`, shown to the client as `urlPath` (decoded, ends in `/`).
 * `served(name)` says whether an entry would be served (a symlink may lead where nothing is).
 */
export async function directoryListing(
  directory: string,
  urlPath: string,
  served: (name: string) => Promise<boolean> = () => Promise.resolve(true),
): Promise<string> {
  const named = (await readdir(directory, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const shown = await Promise.all(named.map((e) => served(e.name)));
  const entries = named.filter((_, i) => shown[i]).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const title = escapeHtml(`Directory listing for ${urlPath}`);
  return [
    '<!DOCTYPE html>',
    '<html>',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${title}</title>`,
    '</head>',
    '<body>',
    `<h1>${title}</h1>`,
    '<hr>',
    '<ul>',
    ...entries.map(entryLine),
    '</ul>',
    '<hr>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
