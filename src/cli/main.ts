// The `websockify` command: parse the command line, start the server, print the banner, and
// turn signals and lifetime rules into an exit status. All behaviour lives in the library.

import { ConfigError } from '../config/errors.js';
import { createLogger } from '../log/logger.js';
import { WebsockifyServer } from '../server/websockify-server.js';
import { VERSION } from '../version.js';
import { bannerLines } from './banner.js';
import { parseCommandLine } from './parse.js';

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

function usageFailure(message: string): number {
  process.stderr.write(`websockify: error: ${message}\nTry 'websockify --help' for more information.\n`);
  return 2;
}

/** Runs the command with `args` (without node and script); resolves to the exit status. */
export async function main(args: string[]): Promise<number> {
  let config;
  try {
    config = await parseCommandLine(args);
  } catch (err) {
    if (err instanceof ConfigError) return usageFailure(err.message);
    throw err;
  }
  if (config.kind === 'help') {
    process.stdout.write(config.text + '\n');
    return 0;
  }
  if (config.kind === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }

  const logger = createLogger({ verbose: config.verbose });
  let server: WebsockifyServer;
  try {
    server = new WebsockifyServer({ ...config.options, logger });
  } catch (err) {
    if (err instanceof ConfigError) return usageFailure(err.message);
    throw err;
  }
  for (const notice of config.notices) logger.warn(notice);
  try {
    const address = await server.listen();
    for (const line of bannerLines(server.options, address)) logger.info(line);
  } catch (err) {
    if (err instanceof ConfigError) return usageFailure(err.message);
    const e = err as NodeJS.ErrnoException;
    logger.error(`Opening socket failed: ${e.code ?? ''} ${e.message}`.trim());
    return 1;
  }

  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: keyof typeof SIGNAL_NUMBERS): void => {
      if (signalled) {
        logger.info(`${signal} again: exiting at once`);
        resolve(128 + SIGNAL_NUMBERS[signal]);
        return;
      }
      signalled = true;
      logger.info(`${signal} received: closing connections`);
      void server.close().then(() => resolve(0));
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    server.on('done', () => resolve(0));
  });
}
