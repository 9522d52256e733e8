#!/usr/bin/env node
// The websockify command's Node entry point, started by the launcher bin/websockify (a
// POSIX sh script that puts a small init in front of node when it runs as PID 1). Running
// `node bin/websockify.js ARGS` directly is equivalent, minus that init. The implementation
// is compiled TypeScript in ../dist.
//
// SIGUSR1 first: while no JavaScript listener for it exists, Node answers SIGUSR1 by opening
// its inspector, an unauthenticated debugger on 127.0.0.1:9229 that lets any local user run
// code as this process. A listener replaces Node's handler, so the signal is taken here,
// before anything else loads, and ignored. (The launcher also passes --disable-sigusr1 to a
// Node that has it, 22.14 and later, which closes the start-up moments before this line.)
process.on('SIGUSR1', () => {});

const { main } = await import('../dist/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`websockify: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
