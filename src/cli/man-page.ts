// The man page websockify(1), in roff (man macros), generated from the option table at build
// time (scripts/build-man.js writes man/websockify.1), so it lists exactly the options --help
// lists.

import { optionGroups, optionSynopsis, USAGE_FORMS } from './help-text.js';

/** Escapes text for roff: backslashes, hyphens (so they print as ASCII minus) and line starts. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/, '\\&$1');
}

/** `--web DIR` as `\fB\-\-web\fR \fIDIR\fR`: the option in bold, its placeholder in italics. */
function synopsisRoff(synopsis: string): string {
  return synopsis
    .split(' ')
    .map((word) => (/^[A-Z_]+$/.test(word) ? `\\fI${roff(word)}\\fR` : `\\fB${roff(word)}\\fR`))
    .join(' ');
}

const SECTIONS: [string, string[]][] = [
  [
    'SIGNALS',
    [
      '.TP',
      '.BR SIGTERM ", " SIGINT',
      'Stop: every client gets close code 1001 "Going away", targets are ended, a wrapped program is stopped; exit status 0. A second signal exits at once.',
      '.TP',
      '.B SIGHUP',
      'Reload: reopen the \\fB\\-\\-log\\-file\\fR (for logrotate), read the TLS certificate, key and CA files and the token file again; sessions stay open.',
    ],
  ],
  [
    'EXIT STATUS',
    [
      '0 after a signal or a lifetime option; 1 when the port cannot be opened or TLS files cannot be used; 2 for a usage error (the message names the option); in wrap mode, the status of the wrapped program.',
    ],
  ],
  [
    'EXAMPLES',
    [
      '.nf',
      'websockify 6080 127.0.0.1:5900',
      'websockify \\-\\-web /usr/share/novnc 6080 127.0.0.1:5900',
      'websockify \\-\\-token\\-plugin TokenFile \\-\\-token\\-source /etc/websockify/tokens.cfg 6080',
      'websockify \\-\\-wrap\\-mode respawn 2023 \\-\\- in.telnetd \\-debug 2023',
      '.fi',
    ],
  ],
  [
    'SEE ALSO',
    [
      "The README and \\fIdocs/\\fR of the websockify\\-node package (in the installed package's directory) describe each feature; \\fBsystemd.socket\\fR(5) for socket activation (unit files are in its \\fIcontrib/\\fR directory).",
    ],
  ],
];

export function manPage(version: string): string {
  const out = [
    `.TH WEBSOCKIFY 1 "" "websockify-node ${roff(version)}" "User Commands"`,
    '.SH NAME',
    'websockify \\- WebSockets to TCP bridge',
    '.SH SYNOPSIS',
    ...USAGE_FORMS.flatMap((form, i) => [...(i > 0 ? ['.br'] : []), `.B websockify`, roff(form)]),
    '.SH DESCRIPTION',
    "websockify forwards the bytes of WebSocket connections (from noVNC, web terminals and other browsers' clients) to a TCP or unix socket server and back. It takes the command line of the Python websockify.",
    'Long options may be shortened to any prefix that names one option.',
    '.SH OPTIONS',
  ];
  for (const [group, options] of optionGroups()) {
    out.push(`.SS "${roff(group.replace(/:$/, ''))}"`);
    for (const o of options) out.push('.TP', synopsisRoff(optionSynopsis(o)), roff(o.help));
  }
  for (const [title, lines] of SECTIONS) out.push(`.SH ${title}`, ...lines);
  return out.join('\n') + '\n';
}
