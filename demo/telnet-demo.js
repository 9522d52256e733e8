#!/usr/bin/env node
// A small telnet-style line service for the `npm start` demo, in plain JavaScript so it runs
// without a build: `node demo/telnet-demo.js PORT [HOST]` (HOST defaults to 127.0.0.1).
//
// It negotiates like a real telnet server (WILL ECHO and WILL SGA: it echoes what is typed,
// character at a time; DO NAWS: it asks for the window size), greets, and answers each line.
// Wrapped by websockify on the same port, its bind is moved to a free loopback port by
// rebind.so, and it still reports the port it believes it listens on.

import net from 'node:net';

const IAC = 255;
const [DONT, DO, WONT, WILL, SB, SE] = [254, 253, 252, 251, 250, 240];
const [ECHO, SGA, NAWS] = [1, 3, 31];

const port = Number(process.argv[2]);
const host = process.argv[3] ?? '127.0.0.1';
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node demo/telnet-demo.js PORT [HOST]');
  process.exit(2);
}

const HELP = [
  'Commands:',
  '  help          this list',
  '  size          the window size your terminal reported (telnet NAWS)',
  '  time          the time here',
  '  echo TEXT     says TEXT back',
  '  quit          ends the session',
  'Anything else is answered with what you typed.',
];

/** One telnet session: a byte-level parser for the client's commands plus a line editor. */
function serve(socket) {
  let state = 'data';
  let verb = 0;
  let sub = [];
  let line = [];
  let windowSize;
  let lastWasCR = false;

  const write = (text) => socket.write(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8'));
  const prompt = () => write('> ');

  function answer(text) {
    const words = text.trim().split(/\s+/);
    const command = words[0]?.toLowerCase() ?? '';
    switch (command) {
      case '':
        return;
      case 'help':
        return write(HELP.join('\n') + '\n');
      case 'size':
        return write(
          windowSize
            ? `Your window is ${windowSize.cols}x${windowSize.rows} (columns x rows, from NAWS).\n`
            : 'No window size received: the client did not agree to NAWS.\n',
        );
      case 'time':
        return write(`It is ${new Date().toISOString()} here.\n`);
      case 'echo':
        return write(text.trim().slice(4).trim() + '\n');
      case 'quit':
      case 'exit':
      case 'logout':
        write('Bye.\n');
        socket.end();
        return 'closed';
      default:
        return write(`You typed "${text}" (${[...text].length} characters). Type "help" for commands.\n`);
    }
  }

  function endLine() {
    write('\n');
    const text = Buffer.from(line).toString('utf8');
    line = [];
    if (answer(text) !== 'closed') prompt();
  }

  /** A data byte typed by the user (after telnet commands are removed). */
  function typed(b) {
    const afterCR = lastWasCR;
    lastWasCR = b === 13;
    if (b === 13) return endLine();
    if (b === 10 || b === 0) {
      if (!afterCR && b === 10) endLine(); // a bare LF ends a line too; CR LF and CR NUL once
      return;
    }
    if (b === 127 || b === 8) {
      if (line.length === 0) return;
      // Remove a whole UTF-8 character: continuation bytes, then its lead byte.
      while (line.length > 0 && (line[line.length - 1] & 0xc0) === 0x80) line.pop();
      line.pop();
      return write('\b \b');
    }
    if (b === 3) {
      line = [];
      write('^C\n');
      return prompt();
    }
    if (b === 4 && line.length === 0) {
      write('\nBye.\n');
      return socket.end();
    }
    if (b < 32) return;
    line.push(b);
    socket.write(Buffer.from([b]));
  }

  function negotiated(cmd, option) {
    // We asked for ECHO, SGA (WILL) and NAWS (DO); refuse anything else the client offers or asks.
    if (cmd === DO && option !== ECHO && option !== SGA) socket.write(Buffer.from([IAC, WONT, option]));
    if (cmd === WILL && option !== NAWS) socket.write(Buffer.from([IAC, DONT, option]));
  }

  function subnegotiated(bytes) {
    if (bytes[0] === NAWS && bytes.length >= 5) {
      windowSize = { cols: bytes[1] * 256 + bytes[2], rows: bytes[3] * 256 + bytes[4] };
    }
  }

  socket.on('data', (chunk) => {
    for (const b of chunk) {
      if (state === 'data') {
        if (b === IAC) state = 'iac';
        else typed(b);
      } else if (state === 'iac') {
        if (b === IAC) {
          typed(b);
          state = 'data';
        } else if (b === DO || b === DONT || b === WILL || b === WONT) {
          verb = b;
          state = 'option';
        } else if (b === SB) {
          sub = [];
          state = 'sb';
        } else state = 'data';
      } else if (state === 'option') {
        negotiated(verb, b);
        state = 'data';
      } else if (state === 'sb') {
        if (b === IAC) state = 'sb-iac';
        else sub.push(b);
      } else if (state === 'sb-iac') {
        if (b === SE) {
          subnegotiated(sub);
          state = 'data';
        } else {
          if (b === IAC) sub.push(IAC);
          state = 'sb';
        }
      }
    }
  });
  socket.on('error', () => {});

  socket.write(Buffer.from([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, NAWS]));
  write(
    [
      'Welcome to the websockify demo service.',
      `This Node program believes it listens on ${host}:${port};`,
      'websockify moved that port and relays your browser to it.',
      'Type "help" for commands, "size" for your window size.',
      '',
    ].join('\n'),
  );
  prompt();
}

const server = net.createServer(serve);
server.on('error', (e) => {
  console.error(`telnet-demo: ${e.message}`);
  process.exit(1);
});
server.listen(port, host, () => console.log(`telnet-demo: listening on ${host}:${port}`));
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => process.exit(0));
