// The command line parsed in-process, row by row of the option table: each library option's
// flag lands on its key with its kind's value, bad values and missing dependencies are
// UsageErrors that name the flag (and carry the library key), and the rest of the command line
// (positionals, rules across options) still reads as before.

import { describe, expect, it } from '@jest/globals';
import { OPTION_TABLE, type OptionRow } from '../../src/config/option-table.js';
import { BYTES, OCTAL_MODE, PORT, SECONDS } from '../../src/config/values.js';
import { parseCommandLine, type CliConfig } from '../../src/cli/parse.js';

const ROWS: readonly OptionRow[] = OPTION_TABLE;
const ENDS = ['127.0.0.1:0', '127.0.0.1:5900'];

async function run(args: string[]): Promise<Extract<CliConfig, { kind: 'run' }>> {
  const config = await parseCommandLine(args);
  if (config.kind !== 'run') throw new Error(`expected a run, got ${config.kind}`);
  return config;
}

/** A value each kind reads, and what it reads it as. */
const SAMPLES = new Map<unknown, [string, unknown]>([
  [SECONDS, ['2.5', 2.5]],
  [BYTES, ['4096', 4096]],
  [OCTAL_MODE, ['660', 0o660]],
  [PORT, ['5901', 5901]],
]);

describe('library options given by their own flag', () => {
  const copied = ROWS.filter((o) => o.use === 'option' && !o.key.startsWith('tls.'));

  it.each(copied.map((o) => [o.flag, o] as const))('--%s lands on its key', async (_flag, o) => {
    const [text, value] = o.value.takesValue ? (SAMPLES.get(o.value) ?? ['some/path', 'some/path']) : ['', undefined];
    const args = o.value.takesValue ? [`--${o.flag}`, text] : [`--${o.flag}`];
    const needs = (o.needs ?? []).includes('auth') ? ['--auth-plugin', 'X'] : [];
    const web = (o.needs ?? []).includes('web') ? ['--web', 'w'] : [];
    const { options } = await run([...args, ...needs, ...web, ...ENDS]);
    const expected = o.value.takesValue ? value : o.value.parse('', o.key, '');
    expect((options as unknown as Record<string, unknown>)[o.key]).toEqual(expected);
  });

  it('options not given are left for the library defaults', async () => {
    const { options } = await run(ENDS);
    expect(options).toEqual({
      listen: { host: '127.0.0.1', port: 0 },
      target: { kind: 'tcp', host: '127.0.0.1', port: 5900 },
    });
  });
});

describe('bad values name the flag, and carry the library key', () => {
  const cases: [string, string, string][] = [
    ['heartbeat', 'x', "option --heartbeat: expected a number of seconds, got 'x'"],
    ['timeout', '-1', "option --timeout: expected a number of seconds, got '-1'"],
    ['max-frame-size', '0', "option --max-frame-size: expected a positive number of bytes, got '0'"],
    ['max-message-size', '1.5', "option --max-message-size: expected a positive number of bytes, got '1.5'"],
    ['unix-listen-mode', '888', "option --unix-listen-mode: expected octal permissions such as 0600 or 660, got '888'"],
    ['wrap-port', '70000', "option --wrap-port: expected a port number (1-65535), got '70000'"],
    ['log-format', 'xml', "option --log-format: expected text or json, got 'xml'"],
    ['wrap-mode', 'often', "option --wrap-mode: expected exit, ignore or respawn, got 'often'"],
    ['ssl-version', 'sslv3', "option --ssl-version: expected default, tlsv1_1, tlsv1_2, tlsv1_3, got 'sslv3'"],
  ];
  it.each(cases)('--%s %s', async (flag, text, message) => {
    const row = ROWS.find((o) => o.flag === flag)!;
    await expect(parseCommandLine([`--${flag}`, text, ...ENDS])).rejects.toThrow(
      expect.objectContaining({ name: 'UsageError', message, flag: `--${flag}`, option: row.key }),
    );
  });
});

describe("the table's needs rules", () => {
  const needing = ROWS.filter((o) => o.needs);
  it.each(needing.map((o) => [o.flag, o] as const))('--%s alone', async (_flag, o) => {
    const args = o.value.takesValue ? [`--${o.flag}`, o.value === OCTAL_MODE ? '600' : 'x'] : [`--${o.flag}`];
    const refused = parseCommandLine([...args, ...ENDS]);
    await expect(refused).rejects.toThrow(
      expect.objectContaining({
        name: 'UsageError',
        flag: `--${o.flag}`,
        message: expect.stringMatching(/^You must use --[a-z-]+ to use /),
      }),
    );
  });

  it('--target-config provides what --token-source and --host-token need', async () => {
    const config = await run(['--target-config', 'tokens.cfg', '--host-token', '127.0.0.1:0']);
    expect(config.tokens).toMatchObject({ name: 'TokenFile', hostToken: true });
  });
});

describe('positionals and rules across options', () => {
  it('--unix-listen with a mode, the target from the one positional', async () => {
    const { options } = await run(['--unix-listen', 'x.sock', '--unix-listen-mode', '0660', '127.0.0.1:5900']);
    expect(options.listen).toEqual({ path: 'x.sock', mode: 0o660 });
    expect(options.target).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 5900 });
  });

  it('a wrapped program takes its port from --wrap-port and the mode from --wrap-mode', async () => {
    const config = await run(['--inetd', '--wrap-port', '5901', '--wrap-mode', 'ignore', '--', 'prog', '-x']);
    expect(config.wrap).toEqual({ command: ['prog', '-x'], mode: 'ignore', programPort: 5901 });
    expect(config.options.listen).toEqual({ fd: 0, name: 'inetd' });
  });

  it('the command settings: logging, verbose, daemon, plugins', async () => {
    const config = await run([
      '-v',
      '--log-format',
      'json',
      '--syslog',
      '127.0.0.1:514',
      '--legacy-syslog',
      '--auth-plugin',
      'BasicHTTPAuth',
      '--auth-source',
      'a:b',
      ...ENDS,
    ]);
    expect(config.verbose).toBe(true);
    expect(config.daemon).toBe(false);
    expect(config.logging).toEqual({
      format: 'json',
      syslog: { kind: 'udp', host: '127.0.0.1', port: 514 },
      legacySyslog: true,
    });
    expect(config.auth).toEqual({ name: 'BasicHTTPAuth', source: 'a:b' });
  });

  it('a bad --syslog names the flag', async () => {
    await expect(parseCommandLine(['--syslog', 'host:x', ...ENDS])).rejects.toThrow(
      expect.objectContaining({ message: 'option --syslog: Error parsing syslog port', flag: '--syslog' }),
    );
  });
});
