// Where the terminal page connects: the WebSocket URL built from the page's own address and its
// query parameters (host, port, path, token, encrypt), as noVNC's pages do, so that the page
// works behind a token plugin (`?token=` is passed along) or a reverse proxy path.

/**
 * The WebSocket URL for a page at `page`. Defaults: the page's host and port, path "/", ws:// for
 * http pages and wss:// for https ones. `token` is appended as a query parameter of the path.
 */
export function connectionUrl(page: URL): string {
  const q = page.searchParams;
  const encrypt = q.has('encrypt') ? /^(1|true|yes)$/i.test(q.get('encrypt')!) : page.protocol === 'https:';
  const host = q.get('host') || page.hostname;
  const port = q.get('port') || page.port;
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let path = (q.get('path') ?? '').replace(/^\/+/, '');
  const token = q.get('token');
  if (token !== null) path += `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  return `${encrypt ? 'wss' : 'ws'}://${hostPart}${port ? `:${port}` : ''}/${path}`;
}
