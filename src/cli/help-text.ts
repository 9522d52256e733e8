// The text of --help, generated from the option table: the usage forms, then each group with
// its options as typed (`-v, --verbose`, `--web DIR`: the placeholder says what the value is),
// their help wrapped to the terminal's width.

import { metavarOf, OPTION_TABLE } from '../config/option-table.js';

export const USAGE_FORMS = [
  '[options] [source_addr:]source_port target_addr:target_port',
  '[options] --token-plugin=CLASS [source_addr:]source_port',
  '[options] --unix-target=FILE [source_addr:]source_port',
  '[options] [source_addr:]source_port -- WRAP_COMMAND_LINE',
  '[options] --unix-listen=FILE|--inetd target_addr:target_port',
];

/** One line of the help: an option of the table, or the `completion` command. */
export interface HelpEntry {
  flag: string;
  alias?: string;
  /** The value's placeholder; empty for a flag. */
  metavar: string;
  group: string;
  help: string;
  /** Typed without dashes (`completion`). */
  bare?: true;
}

const COMPLETION: HelpEntry = {
  flag: 'completion',
  metavar: '',
  group: 'Other:',
  help: 'as the only argument (`websockify completion`): print a bash/zsh completion script',
  bare: true,
};

/** `-v, --verbose` or `--web DIR`, as the option is typed. */
export function optionSynopsis(o: HelpEntry): string {
  const long = o.bare ? o.flag : `--${o.flag}${o.metavar ? ` ${o.metavar}` : ''}`;
  return o.alias ? `-${o.alias}, ${long}` : long;
}

/** The help's entries grouped as in the table, in its order. */
export function optionGroups(): [string, HelpEntry[]][] {
  const entries: HelpEntry[] = OPTION_TABLE.map((o) => ({
    flag: o.flag,
    ...('alias' in o ? { alias: o.alias } : {}),
    metavar: metavarOf(o),
    group: o.group,
    help: o.help,
  }));
  const groups = new Map<string, HelpEntry[]>();
  for (const o of [...entries, COMPLETION]) groups.set(o.group, [...(groups.get(o.group) ?? []), o]);
  return [...groups];
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

export function helpText(columns = 100): string {
  const width = Math.max(60, Math.min(columns, 100));
  const out = USAGE_FORMS.map((form) => `websockify ${form}`);
  for (const [group, options] of optionGroups()) {
    out.push('', group);
    const left = options.map((o) => (o.alias ? '  ' : '      ') + optionSynopsis(o));
    const column = Math.min(Math.max(...left.map((l) => l.length)) + 2, 40);
    options.forEach((o, i) => {
      const text = wrap(o.help, width - column);
      const head = left[i]!;
      if (head.length + 2 > column) out.push(head, ...text.map((t) => ' '.repeat(column) + t));
      else out.push(head.padEnd(column) + text[0], ...text.slice(1).map((t) => ' '.repeat(column) + t));
    });
  }
  return out.join('\n');
}
