// The text of --help, generated from the option table: the usage forms, then each group with
// its options as typed (`-v, --verbose`, `--web DIR`: the placeholder says what the value is),
// their help wrapped to the terminal's width.

import { CLI_OPTIONS, type CliOption } from './options-table.js';

export const USAGE_FORMS = [
  '[options] [source_addr:]source_port target_addr:target_port',
  '[options] --token-plugin=CLASS [source_addr:]source_port',
  '[options] --unix-target=FILE [source_addr:]source_port',
  '[options] [source_addr:]source_port -- WRAP_COMMAND_LINE',
  '[options] --unix-listen=FILE|--inetd target_addr:target_port',
];

/** --help and --version, which the parser handles itself. */
export const OTHER_OPTIONS: readonly CliOption[] = [
  { name: 'help', alias: 'h', type: 'boolean', group: 'Other:', describe: 'show this help and exit' },
  { name: 'version', type: 'boolean', group: 'Other:', describe: 'show the version and exit' },
  {
    name: 'completion',
    type: 'boolean',
    group: 'Other:',
    describe: 'as the only argument (`websockify completion`): print a bash/zsh completion script',
  },
];

/** `-v, --verbose` or `--web DIR`, as the option is typed. */
export function optionSynopsis(o: CliOption): string {
  const long = o.name === 'completion' ? 'completion' : `--${o.name}${o.metavar ? ` ${o.metavar}` : ''}`;
  return o.alias ? `-${o.alias}, ${long}` : long;
}

/** Options grouped as in the table, in its order. */
export function optionGroups(): [string, CliOption[]][] {
  const groups = new Map<string, CliOption[]>();
  for (const o of [...CLI_OPTIONS, ...OTHER_OPTIONS]) groups.set(o.group, [...(groups.get(o.group) ?? []), o]);
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
      const text = wrap(o.describe, width - column);
      const head = left[i]!;
      if (head.length + 2 > column) out.push(head, ...text.map((t) => ' '.repeat(column) + t));
      else out.push(head.padEnd(column) + text[0], ...text.slice(1).map((t) => ' '.repeat(column) + t));
    });
  }
  return out.join('\n');
}
