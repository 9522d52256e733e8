// SIGHUP on the real command: it reloads instead of stopping. The log file is reopened (a file
// that logrotate renamed keeps what was written, the next lines go to a new file), TLS files and
// token files are read again at once, and sessions open across the reload keep proxying.
// SIGTERM and SIGINT still stop (lifetime.test.ts has the details).

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { livePair, makeTestPki, servedSerial, type TestPki } from './helpers/certs.js';
import { defer } from './helpers/cleanup.js';
import { startCliForTest, exitStatus, isRunning, untimed } from './helpers/cli.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { clientForTest, expectEcho, expectHello, wrapServerCommand } from './helpers/per-test.js';
import { echoTarget, unusedPort, type TestTarget } from './helpers/targets.js';
import { WORKER_MODES } from './helpers/workers.js';

let dir: string;
let pki: TestPki;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'websockify-reload-'));
  pki = await makeTestPki();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await pki.remove();
});

async function echoForTest(): Promise<TestTarget> {
  const t = await echoTarget();
  defer(() => t.close());
  return t;
}

const RELOAD_LINE = 'SIGHUP received: reopening the log file, reading certificates and token files again';

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('SIGHUP', () => {
    it('reopens --log-file after a rename: old lines stay in the renamed file, new ones go to a new file; sessions keep echoing', async () => {
      const t = await echoForTest();
      const log = path.join(dir, `ws${workers.length}.log`);
      const cli = await startCliForTest([...workers, '--log-file', log, '127.0.0.1:0', `127.0.0.1:${t.port}`]);
      const before = await clientForTest(`ws://127.0.0.1:${cli.port}/before`);
      await expectEcho(before, 'one');

      await rename(log, `${log}.1`); // what logrotate does (without copytruncate)
      cli.child.kill('SIGHUP');
      await cli.waitForStderr(new RegExp(`${RELOAD_LINE}\n`));
      const after = await clientForTest(`ws://127.0.0.1:${cli.port}/after`);
      await cli.waitForStderr(/WebSocket connection on \/after/);
      await expectEcho(before, 'two: the session opened before the reload');
      await expectEcho(after, 'three');
      expect(isRunning(cli)).toBe(true);

      const rotated = untimed(await readFile(`${log}.1`, 'utf8'));
      expect(rotated).toMatch(/^WebSocket server settings:\n/);
      expect(rotated).toContain('1: 127.0.0.1: WebSocket connection on /before, proxying to ');
      expect(rotated.endsWith(`${RELOAD_LINE}\n`)).toBe(true);
      const fresh = untimed(await readFile(log, 'utf8'));
      expect(fresh).toBe(`2: 127.0.0.1: WebSocket connection on /after, proxying to 127.0.0.1:${t.port}\n`);

      cli.child.kill('SIGTERM');
      expect(await exitStatus(cli, 10000)).toBe(0);
      expect(untimed(await readFile(log, 'utf8'))).toContain('\nSIGTERM received: closing connections\n');
    });

    it('reads the TLS files again at once (no change needed); a changed pair serves new handshakes', async () => {
      const t = await echoForTest();
      const { cert, key } = await livePair(pki, dir);
      const cli = await startCliForTest([
        ...workers,
        '--cert',
        cert,
        '--key',
        key,
        '127.0.0.1:0',
        `127.0.0.1:${t.port}`,
      ]);
      const ca = await readFile(pki.ca, 'utf8');
      expect(await servedSerial(cli.port, ca)).toBe(pki.server.serial);

      // Unchanged files: the file watcher has nothing to report, so this line is the signal's doing.
      cli.child.kill('SIGHUP');
      await cli.waitForStderr(new RegExp(`${RELOAD_LINE}\nTLS certificate reloaded from '${cert}'\n`));

      await writeFile(`${key}.new`, await readFile(pki.rotated.key));
      await writeFile(`${cert}.new`, await readFile(pki.rotated.cert));
      await rename(`${key}.new`, key);
      await rename(`${cert}.new`, cert);
      cli.child.kill('SIGHUP');
      await eventually(
        async () => (await servedSerial(cli.port, ca)) === pki.rotated.serial,
        'the rotated certificate to be served',
      );
    });

    it('makes ReadOnlyTokenFile (read once otherwise) read its file again; a bad read keeps the old tokens', async () => {
      const first = await echoForTest();
      const second = await echoForTest();
      const tokens = path.join(dir, 'tokens.cfg');
      await writeFile(tokens, `vm: 127.0.0.1:${first.port}\n`);
      const cli = await startCliForTest([
        ...workers,
        '--token-plugin',
        'ReadOnlyTokenFile',
        '--token-source',
        tokens,
        '127.0.0.1:0',
      ]);
      const url = `ws://127.0.0.1:${cli.port}/?token=vm`;
      await expectEcho(await clientForTest(url), 'a');
      expect([first.connections.length, second.connections.length]).toEqual([1, 0]);

      await writeFile(tokens, `vm: 127.0.0.1:${second.port}\n`);
      await expectEcho(await clientForTest(url), 'b'); // read once: still the first target
      expect([first.connections.length, second.connections.length]).toEqual([2, 0]);

      cli.child.kill('SIGHUP');
      await cli.waitForStderr(new RegExp(RELOAD_LINE));
      // The reload is asynchronous (a file read): poll with new connections until it took effect.
      await withTimeout(
        (async () => {
          while (second.connections.length === 0) await expectEcho(await clientForTest(url), 'c');
        })(),
        10000,
        'the edited token file to be used',
      );

      await rm(tokens);
      cli.child.kill('SIGHUP');
      await cli.waitForStderr(
        new RegExp(`ReadOnlyTokenFile: cannot re-read ${tokens} \\(keeping the old tokens\\): .*ENOENT`),
      );
      const before = second.connections.length;
      await expectEcho(await clientForTest(url), 'd');
      expect(second.connections.length).toBe(before + 1);
    });

    it('a wrapped program and its session keep running across SIGHUP; SIGTERM then stops both', async () => {
      const port = await unusedPort();
      const cli = await startCliForTest([...workers, `127.0.0.1:${port}`, ...wrapServerCommand(port)]);
      const c = await clientForTest(`ws://127.0.0.1:${cli.port}/`);
      const pid = await expectHello(c);
      cli.child.kill('SIGHUP');
      await cli.waitForStderr(new RegExp(RELOAD_LINE));
      const again = await clientForTest(`ws://127.0.0.1:${cli.port}/`);
      expect(await expectHello(again)).toBe(pid); // the same program
      expect(cli.stderr()).not.toMatch(/closing connections/);
      expect(c.ws.readyState).toBe(c.ws.OPEN);
      cli.child.kill('SIGTERM');
      expect(await exitStatus(cli, 10000)).toBe(0);
    });
  });
});
