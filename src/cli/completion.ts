// Shell completion, by yargs: `websockify completion` prints a bash script (zsh when $SHELL is
// zsh) that asks `websockify --get-yargs-completions WORDS...` for the options at each TAB.
// Only those two command lines come here; every other is parsed by parse.ts.

import yargs from 'yargs';
import { OPTION_TABLE } from '../config/option-table.js';

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
  for (const o of OPTION_TABLE) {
    parser = parser.option(o.flag, { type: o.value.takesValue ? 'string' : 'boolean', describe: o.help });
  }
  await parser.parseAsync();
  return true;
}
