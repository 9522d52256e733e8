#!/usr/bin/env node
// `npm start`: the whole product in one command. Runs websockify serving the web terminal page
// (--web web) and wrapping the demo telnet service on the same port, then prints the URL to open.
//
//   npm start                          # port 6080, all interfaces, like the reference
//   npm start -- --port 7000           # another port (or PORT=7000 npm start)
//   npm start -- --host 127.0.0.1      # loopback only
//
// The equivalent command line is printed at start. Stops (and stops the demo) on Ctrl-C.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (relative) => fileURLToPath(new URL(`../${relative}`, import.meta.url));

let values;
try {
  ({ values } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (e) {
  console.error(`npm start: ${e.message}`);
  process.exit(2);
}
if (values.help) {
  console.log('usage: npm start [-- --port N] [--host ADDRESS]   (PORT in the environment works too)');
  process.exit(0);
}
const port = Number(values.port ?? process.env.PORT ?? 6080);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`npm start: --port must be a port number (1-65535), got ${values.port ?? process.env.PORT}`);
  process.exit(2);
}
for (const built of ['dist/cli/main.js', 'web/build/terminal.js']) {
  if (!existsSync(at(built))) {
    console.error(`npm start: ${built} is missing: run \`npm ci\` (or \`npm run build\`) first`);
    process.exit(1);
  }
}

const listen = values.host ? `${values.host.includes(':') ? `[${values.host}]` : values.host}:${port}` : String(port);
const args = [listen, '--web', 'web', '--', process.execPath, 'demo/telnet-demo.js', String(port)];
console.log(`websockify ${args.join(' ').replace(process.execPath, 'node')}`);

const child = spawn(process.execPath, [at('bin/websockify.js'), ...args], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'pipe'],
});
let announced = false;
let pending = '';
child.stderr.on('data', (chunk) => {
  process.stderr.write(chunk);
  if (announced) return;
  pending += chunk;
  if (/Opening socket failed: EADDRINUSE/.test(pending)) {
    announced = true;
    console.error(
      `\nnpm start: port ${port} is in use: pick another with \`npm start -- --port 7000\` (or PORT=7000 npm start)`,
    );
  } else if (/Listen on /.test(pending)) {
    announced = true;
    const shown =
      !values.host || values.host === '0.0.0.0' || values.host === '::' ? 'localhost' : listen.replace(/:\d+$/, '');
    console.log(`\nOpen http://${shown}:${port}/ in a browser: a terminal connected to the demo service.\n`);
  }
});
// Ctrl-C reaches websockify directly (same process group): it stops the demo and exits, and so
// do we. SIGTERM and SIGHUP (the terminal closed) stop it with SIGTERM: websockify takes SIGHUP
// as "reload", and a second SIGINT would make it skip its graceful stop.
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
}
child.on('exit', (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
