// Shell completion, by yargs: `websockify completion` prints a bash script (zsh when $SHELL is
// zsh) that asks `websockify --get-yargs-completions WORDS...` for the options at each TAB.
// Only those two command lines come here; every other is parsed by parse.ts.

import yargs from 'yargs';
import { CLI_OPTIONS } from './options-table.js';

const COMPLETION_FLAG = '--get-yargs-completions';

/** True (and the script or the completions printed on stdout) when `args` asks for completion. */
export async function runCompletion(args: string[]): Promise<boolean> {
  if (!((args.length === 1 && args[0] === 'completion') || args[0] === COMPLETION_FLAG)) return false;
  let parser = yargs(args)
    .scriptName('websockify')
    .help(false)
    .version(false)
    .exitProcess(false)
    .completion('completion', false);
  for (const o of CLI_OPTIONS) {
    parser = parser.option(o.name, { type: o.type, describe: o.describe });
  }
  await parser
    .option('help', { type: 'boolean', describe: 'show the help' })
    .option('version', { type: 'boolean', describe: 'show the version' })
    .parseAsync();
  return true;
}
