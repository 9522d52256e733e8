// The two small pieces every listen source shares: net.Server.listen() as a promise that rejects
// with the OS error, and the coded errors (EADDRINUSE, ENOTSOCK...) that a source raises itself
// for the CLI's "Opening socket failed: CODE message".

import type net from 'node:net';

/** Calls server.listen(options) (`{ fd }` is an inherited socket); resolves once listening, rejects with the error instead. */
export function listenServer(server: net.Server, options: net.ListenOptions | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** An Error with an errno-style `code`, like the ones Node raises. */
export function listenError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}
