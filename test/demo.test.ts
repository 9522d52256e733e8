// `npm start` (demo/start.js) when its port is taken: websockify's error, then a line saying
// how to choose another port, and exit status 1. (browser.test.ts runs the demo itself.)

import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { defer } from './helpers/cleanup.js';
import { runCli } from './helpers/cli.js';
import { withTimeout } from './helpers/wait.js';

const START = fileURLToPath(new URL('../demo/start.js', import.meta.url));

describe('npm start', () => {
  it('on a port in use: says to use --port, exits 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    defer(() => new Promise((resolve) => taken.close(resolve)));
    const { port } = taken.address() as net.AddressInfo;
    const p = runCli(['--host', '127.0.0.1', '--port', String(port)], process.env, { via: [process.execPath, START] });
    defer(() => p.kill());
    expect(await withTimeout(p.exited, 20000, 'npm start to exit')).toBe(1);
    expect(p.stderr()).toContain(`Opening socket failed: EADDRINUSE`);
    expect(p.stderr()).toContain(
      `\nnpm start: port ${port} is in use: pick another with \`npm start -- --port 7000\` (or PORT=7000 npm start)\n`,
    );
  });
});
