#!/usr/bin/env node
// The websockify command's Node entry point, started by the launcher bin/websockify (a
// POSIX sh script that puts a small init in front of node when it runs as PID 1). Running
// `node bin/websockify.js ARGS` directly is equivalent, minus that init. The implementation
// is compiled TypeScript in ../dist.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`websockify: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
