// Resolving the wrapped command before it is started, so a missing or non-executable program
// is reported clearly with the shell's conventional statuses (127 not found, 126 not
// executable) instead of surfacing as a spawn error or being run by /bin/sh by accident.

import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export class WrapCommandError extends Error {
  constructor(
    message: string,
    /** The exit status websockify should end with: 127 or 126. */
    readonly exitStatus: number,
  ) {
    super(message);
    this.name = 'WrapCommandError';
  }
}

function executable(file: string): 'ok' | 'missing' | 'not-executable' {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return 'missing';
  }
  if (!stat.isFile()) return 'not-executable';
  try {
    accessSync(file, constants.X_OK);
    return 'ok';
  } catch {
    return 'not-executable';
  }
}

/** Returns the absolute path of `command`, searching PATH when it has no slash. */
export function resolveCommand(command: string, env: NodeJS.ProcessEnv = process.env): string {
  if (command.includes('/')) {
    const file = path.resolve(command);
    const state = executable(file);
    if (state === 'missing') throw new WrapCommandError(`${command}: command not found`, 127);
    if (state === 'not-executable') throw new WrapCommandError(`${command}: not an executable file`, 126);
    return file;
  }
  let found: string | undefined;
  for (const dir of (env.PATH ?? '').split(':')) {
    const file = path.resolve(dir || '.', command);
    const state = executable(file);
    if (state === 'ok') return file;
    if (state === 'not-executable' && found === undefined) found = file;
  }
  if (found) throw new WrapCommandError(`${command}: ${found} is not an executable file`, 126);
  throw new WrapCommandError(`${command}: command not found in PATH`, 127);
}
