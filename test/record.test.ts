// Session recording (`--record FILE`): the file is byte-exact in the reference's format (a
// golden file for all 256 byte values, quotes and backslashes, both ways), it is valid
// JavaScript whose frames decode by noVNC's player rules to the bytes sent, files are numbered
// by connection and never overwritten, and a slow disk or a failed open is logged while the
// proxy session carries on. The last test runs the real CLI.

import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { createLogger, type WebsockifyOptions } from '../src/index.js';
import { runCli, startCliForTest } from './helpers/cli.js';
import { openClient, type OpenClient, rawExchange } from './helpers/clients.js';
import { startProxy } from './helpers/proxy.js';
import { eventually, withTimeout } from './helpers/wait.js';
import { defer } from './helpers/cleanup.js';
import { finishedRecording } from './helpers/recording.js';
import { echoTarget, type TestTarget } from './helpers/targets.js';
import { WORKER_MODES } from './helpers/workers.js';

/** Every byte value, then quotes and backslashes next to each other. */
const FROM_CLIENT = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from("'\\'\\\\")]);
/** Every byte value backwards, then more quotes and backslashes. */
const TO_CLIENT = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)),
  Buffer.from("\\''\\", 'latin1'),
]);

// The two frames' text, written out from the format rules (printable ASCII as is, `\\` and
// `\'`, `\t` `\n` `\r`, lowercase `\xhh` for every other byte). A backtick cannot appear in
// String.raw, hence the '`' pieces.
const FROM_CLIENT_TEXT =
  String.raw`\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f` +
  String.raw`\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f` +
  String.raw` !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_` +
  '`' +
  String.raw`abcdefghijklmnopqrstuvwxyz{|}~\x7f` +
  String.raw`\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f` +
  String.raw`\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f` +
  String.raw`\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf` +
  String.raw`\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf` +
  String.raw`\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf` +
  String.raw`\xd0\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf` +
  String.raw`\xe0\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xeb\xec\xed\xee\xef` +
  String.raw`\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff` +
  String.raw`\'\\\'\\\\`;
const TO_CLIENT_TEXT =
  String.raw`\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0` +
  String.raw`\xef\xee\xed\xec\xeb\xea\xe9\xe8\xe7\xe6\xe5\xe4\xe3\xe2\xe1\xe0` +
  String.raw`\xdf\xde\xdd\xdc\xdb\xda\xd9\xd8\xd7\xd6\xd5\xd4\xd3\xd2\xd1\xd0` +
  String.raw`\xcf\xce\xcd\xcc\xcb\xca\xc9\xc8\xc7\xc6\xc5\xc4\xc3\xc2\xc1\xc0` +
  String.raw`\xbf\xbe\xbd\xbc\xbb\xba\xb9\xb8\xb7\xb6\xb5\xb4\xb3\xb2\xb1\xb0` +
  String.raw`\xaf\xae\xad\xac\xab\xaa\xa9\xa8\xa7\xa6\xa5\xa4\xa3\xa2\xa1\xa0` +
  String.raw`\x9f\x9e\x9d\x9c\x9b\x9a\x99\x98\x97\x96\x95\x94\x93\x92\x91\x90` +
  String.raw`\x8f\x8e\x8d\x8c\x8b\x8a\x89\x88\x87\x86\x85\x84\x83\x82\x81\x80` +
  String.raw`\x7f~}|{zyxwvutsrqponmlkjihgfedcba` +
  '`' +
  String.raw`_^]\\[ZYXWVUTSRQPONMLKJIHGFEDCBA@?>=<;:9876543210/.-,+*)(\'&%$#"! ` +
  String.raw`\x1f\x1e\x1d\x1c\x1b\x1a\x19\x18\x17\x16\x15\x14\x13\x12\x11\x10` +
  String.raw`\x0f\x0e\r\x0c\x0b\n\t\x08\x07\x06\x05\x04\x03\x02\x01\x00` +
  String.raw`\\\'\'\\`;

const GOLDEN = ['var VNC_frame_data = [', `'}MS}${FROM_CLIENT_TEXT}',`, `'{MS{${TO_CLIENT_TEXT}',`, "'EOF'];", ''].join(
  '\n',
);

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'websockify-record-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function echo(): Promise<TestTarget> {
  const t = await echoTarget();
  defer(() => t.close());
  return t;
}

/** A target that waits for `expect` bytes, then answers `reply` in one write. */
async function scriptedTarget(expected: number, reply: Buffer): Promise<{ port: number; received: () => Buffer }> {
  const chunks: Buffer[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((c) => {
    sockets.push(c);
    c.on('error', () => {});
    c.on('data', (d) => {
      chunks.push(d);
      if (Buffer.concat(chunks).length === expected) c.write(reply);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  defer(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, received: () => Buffer.concat(chunks) };
}

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ verbose: true, sinks: [(_level, line) => lines.push(line)] }), lines };
}

async function recordingProxy(options: WebsockifyOptions): Promise<Awaited<ReturnType<typeof startProxy>>> {
  const p = await startProxy({ closeTimeout: 2, ...options });
  defer(() => p.server.close());
  return p;
}

/** Closes the client and waits for the session (and so its recording) to end. */
async function endSession(c: OpenClient, p: Awaited<ReturnType<typeof startProxy>>): Promise<void> {
  const ended = new Promise((r) => p.server.once('session-end', r));
  c.ws.close(1000);
  await withTimeout(c.closed, 5000, 'close');
  await withTimeout(ended, 5000, 'session end');
}

/** The frames of a recording, evaluated as the script noVNC's playback page loads. */
function evaluate(text: string): string[] {
  const context: { VNC_frame_data?: unknown } = {};
  vm.runInNewContext(text, context);
  const frames = context.VNC_frame_data;
  if (!Array.isArray(frames)) throw new Error('VNC_frame_data is not an array');
  return frames as string[];
}

/**
 * Decodes frames by the player's rules (noVNC tests/playback-ui.js): stop at "EOF"; the data
 * starts after the second separator; each character is one byte. The player looks for `{`
 * even in `}` frames (it skips those frames anyway); the separator of each direction is used here.
 */
function decode(frames: string[]): { fromClient: boolean; timestamp: number; data: Buffer }[] {
  const out = [];
  for (const frame of frames) {
    if (frame === 'EOF') break;
    const dataIdx = frame.indexOf(frame[0]!, 1) + 1;
    const codes = Array.from(frame.slice(dataIdx), (ch) => ch.charCodeAt(0));
    expect(codes.every((c) => c < 256)).toBe(true);
    out.push({
      fromClient: frame[0] === '}',
      timestamp: parseInt(frame.slice(1, dataIdx - 1)),
      data: Buffer.from(codes),
    });
  }
  return out;
}

describe('the recording file', () => {
  it('is byte-exact in the reference format for all 256 byte values, quotes and backslashes both ways', async () => {
    const dir = tempDir();
    const target = await scriptedTarget(FROM_CLIENT.length, TO_CLIENT);
    const p = await recordingProxy({ target: `127.0.0.1:${target.port}`, record: path.join(dir, 'rec') });
    const c = await openClient(p.url);
    c.ws.send(FROM_CLIENT);
    expect((await c.waitForBytes(TO_CLIENT.length)).equals(TO_CLIENT)).toBe(true);
    expect(target.received().equals(FROM_CLIENT)).toBe(true);
    await endSession(c, p);

    const text = await finishedRecording(path.join(dir, 'rec.1'));
    const stamps = [...text.matchAll(/^'([{}])(\d+)\1/gm)].map((m) => Number(m[2]));
    expect(stamps).toHaveLength(2);
    expect(stamps[0]).toBeLessThanOrEqual(stamps[1]!);
    expect(text.replace(/^'([{}])\d+\1/gm, "'$1MS$1")).toBe(GOLDEN);
  });

  it('is JavaScript whose frames decode by the player rules to the exact bytes, in order', async () => {
    const dir = tempDir();
    const target = await scriptedTarget(FROM_CLIENT.length, TO_CLIENT);
    const p = await recordingProxy({ target: `127.0.0.1:${target.port}`, record: path.join(dir, 'rec') });
    const c = await openClient(p.url);
    c.ws.send(FROM_CLIENT);
    await c.waitForBytes(TO_CLIENT.length);
    await endSession(c, p);

    const frames = evaluate(await finishedRecording(path.join(dir, 'rec.1')));
    expect(frames).toHaveLength(3);
    expect(frames[2]).toBe('EOF');
    const decoded = decode(frames);
    expect(decoded.map((f) => f.fromClient)).toEqual([true, false]);
    expect(decoded[0]!.data.equals(FROM_CLIENT)).toBe(true);
    expect(decoded[1]!.data.equals(TO_CLIENT)).toBe(true);
    // The server frame, the one the player replays, parses with the player's exact rule too.
    const serverFrame = frames[1]!;
    expect(serverFrame.slice(serverFrame.indexOf('{', 1) + 1)).toBe(TO_CLIENT.toString('latin1'));
    expect(decoded[1]!.timestamp).toBeGreaterThanOrEqual(decoded[0]!.timestamp);
  });

  it('records base64 sessions as the decoded bytes (what the player expects)', async () => {
    const dir = tempDir();
    const target = await echo();
    const p = await recordingProxy({ target: `127.0.0.1:${target.port}`, record: path.join(dir, 'rec') });
    const c = await openClient(p.url, 'base64');
    const data = Buffer.from('RFB 003.008\n\x00\xff', 'latin1');
    c.ws.send(data.toString('base64'));
    await eventually(() => c.messages.length !== 0, 'echo', { ms: 5000 });
    await endSession(c, p);
    const decoded = decode(evaluate(await finishedRecording(path.join(dir, 'rec.1'))));
    expect(Buffer.concat(decoded.filter((f) => f.fromClient).map((f) => f.data)).equals(data)).toBe(true);
    expect(Buffer.concat(decoded.filter((f) => !f.fromClient).map((f) => f.data)).equals(data)).toBe(true);
  });
});

describe('numbering', () => {
  it('numbers files by accepted connection, like the reference: a plain HTTP request uses a number', async () => {
    const dir = tempDir();
    const target = await echo();
    const p = await recordingProxy({ target: `127.0.0.1:${target.port}`, record: path.join(dir, 'rec') });
    const first = await openClient(p.url);
    await endSession(first, p);
    await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const second = await openClient(p.url);
    await endSession(second, p);
    await finishedRecording(path.join(dir, 'rec.1'));
    await finishedRecording(path.join(dir, 'rec.3'));
    expect(readdirSync(dir).sort()).toEqual(['rec.1', 'rec.3']);
  });

  it('never overwrites an existing file: the next free number is used', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'rec.1'), 'precious 1');
    writeFileSync(path.join(dir, 'rec.2'), 'precious 2');
    const target = await echo();
    const { logger, lines } = capturingLogger();
    const p = await recordingProxy({ target: `127.0.0.1:${target.port}`, record: path.join(dir, 'rec'), logger });
    for (let i = 0; i < 2; i++) {
      const c = await openClient(p.url);
      c.ws.send(Buffer.from([i]));
      await c.waitForBytes(1);
      await endSession(c, p);
    }
    expect(readFileSync(path.join(dir, 'rec.1'), 'latin1')).toBe('precious 1');
    expect(readFileSync(path.join(dir, 'rec.2'), 'latin1')).toBe('precious 2');
    const third = decode(evaluate(await finishedRecording(path.join(dir, 'rec.3'))));
    const fourth = decode(evaluate(await finishedRecording(path.join(dir, 'rec.4'))));
    expect(third[0]!.data).toEqual(Buffer.from([0]));
    expect(fourth[0]!.data).toEqual(Buffer.from([1]));
    expect(readdirSync(dir).sort()).toEqual(['rec.1', 'rec.2', 'rec.3', 'rec.4']);
    expect(lines).toContainEqual(expect.stringContaining(`opening record file: ${path.join(dir, 'rec.3')}`));
  });
});

describe('failures are logged and the session carries on', () => {
  it('a disk that falls behind the bound stops that recording, which still ends with the footer', async () => {
    const dir = tempDir();
    const target = await echo();
    const { logger, lines } = capturingLogger();
    const p = await recordingProxy({
      target: `127.0.0.1:${target.port}`,
      record: path.join(dir, 'rec'),
      recordQueueLimit: 4096,
      logger,
    });
    const c = await openClient(p.url);
    const big = Buffer.alloc(64 * 1024, 0x80); // 256 KiB once escaped: beyond the bound at once
    c.ws.send(big);
    expect((await c.waitForBytes(big.length)).equals(big)).toBe(true);
    c.ws.send(Buffer.from('still here'));
    await c.waitForBytes(big.length + 10);
    await endSession(c, p);
    const text = await finishedRecording(path.join(dir, 'rec.1'));
    expect(text).toBe("var VNC_frame_data = [\n'EOF'];\n");
    expect(lines).toContainEqual(expect.stringMatching(/recording: .*rec\.[1N]: the disk is not keeping up.*stopped/));
  });

  it('a file that cannot be created is logged; the data still flows', async () => {
    const dir = tempDir();
    const sub = path.join(dir, 'gone');
    mkdirSync(sub);
    const target = await echo();
    const { logger, lines } = capturingLogger();
    const p = await recordingProxy({ target: `127.0.0.1:${target.port}`, record: path.join(sub, 'rec'), logger });
    rmSync(sub, { recursive: true });
    const c = await openClient(p.url);
    c.ws.send(Buffer.from('data'));
    expect((await c.waitForBytes(4)).toString()).toBe('data');
    await endSession(c, p);
    // The file is opened asynchronously: a short session can end before the open fails.
    const cannot = /recording: cannot create .*rec\.N: ENOENT; this session is not recorded/;
    await eventually(
      () => lines.some((l) => cannot.test(l)),
      () => `no "cannot create" line in ${lines.join(' | ')}`,
    );
  });
});

describe.each(WORKER_MODES)('%s', (_mode, workers) => {
  describe('--record on the command line', () => {
    it('records through the CLI, says so in the banner, and flushes the file at SIGTERM', async () => {
      const dir = tempDir();
      const target = await echo();
      const base = path.join(dir, 'session');
      const cli = await startCliForTest([
        ...workers,
        '-v',
        '--record',
        base,
        '127.0.0.1:0',
        `127.0.0.1:${target.port}`,
      ]);
      await cli.waitForStderr(/ {2}- Recording sessions to .*\n/);
      expect(cli.stderr()).toContain(`  - Recording sessions to ${base}.N\n`);
      const c = await openClient(`ws://127.0.0.1:${cli.port}`);
      c.ws.send(Buffer.from('over the wire'));
      await c.waitForBytes(13);
      await cli.waitForStderr(/opening record file: .*session\.1/);
      // Shut down with the session still open: the recording must still be complete.
      await cli.kill();
      const frames = decode(evaluate(await finishedRecording(`${base}.1`, 1000)));
      expect(frames.map((f) => f.data.toString())).toEqual(['over the wire', 'over the wire']);
      c.ws.terminate();
    });

    it('a directory that does not exist is a start-up error naming the option', async () => {
      const cli = runCli([...workers, '--record', '/nonexistent-websockify-dir/rec', '127.0.0.1:0', '127.0.0.1:5900']);
      defer(() => cli.kill());
      expect(await withTimeout(cli.exited, 10000, 'exit')).toBe(2);
      expect(cli.stderr()).toMatch(/record: directory \/nonexistent-websockify-dir does not exist/);
    });
  });
});
