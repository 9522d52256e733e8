// --help as generated from the option table (placeholders for values, no type labels), and
// shell completion: the script `websockify completion` prints, run in a real bash, completes
// option names by asking the command.

import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runToExit } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

describe('--help', () => {
  it('shows each value as a placeholder and no type labels', async () => {
    const r = await runToExit(['--help']);
    expect(r.status).toBe(0);
    const help = r.stdout;
    for (const typed of [
      '--web DIR',
      '--timeout SECONDS',
      '--idle-timeout SECONDS',
      '--heartbeat SECONDS',
      '--max-message-size BYTES',
      '--log-file FILE',
      '--log-format FORMAT',
      '--token-plugin CLASS',
      '--unix-listen-mode MODE',
      '-v, --verbose ',
      '-D, --daemon ',
    ]) {
      expect(help).toContain(`  ${typed}`);
    }
    expect(help).not.toMatch(/\[(string|boolean|number)\]/);
    // Every line fits in 100 columns (stdout is a pipe here).
    expect(help.split('\n').filter((line) => line.length > 100)).toEqual([]);
  });
});

describe('completion', () => {
  it('`websockify completion` prints a bash script that completes options in a real bash', async () => {
    const r = await runToExit(['completion']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('complete -o bashdefault -o default -F _websockify_yargs_completions websockify');
    const script = [
      'set -e',
      'eval "$(websockify completion)"',
      'COMP_WORDS=(websockify --ssl-on); COMP_CWORD=1; _websockify_yargs_completions',
      'printf "%s\\n" "${COMPREPLY[@]}"',
      'COMP_WORDS=(websockify --idle); COMP_CWORD=1; _websockify_yargs_completions',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const env = { ...process.env, PATH: `${path.join(ROOT, 'bin')}:${process.env.PATH ?? ''}`, SHELL: '/bin/bash' };
    const { stdout } = await run('/bin/bash', ['-c', script], { env, timeout: 30000 });
    expect(stdout).toBe('--ssl-only\n--idle-timeout\n');
  });

  it('with SHELL=zsh the script is for zsh', async () => {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'bin', 'websockify.js'), 'completion'], {
      env: { ...process.env, SHELL: '/usr/bin/zsh' },
      timeout: 30000,
    });
    expect(stdout.startsWith('#compdef websockify\n')).toBe(true);
  });
});
