// How a cluster primary best gives connections to its workers: `node bench/handoff.js`.
//
// Two ways, each with 2 workers that answer one byte and close:
//   cluster - the workers listen() and node:cluster's round-robin hands them connections (the
//             primary accepts and sends the raw handle; it only works for a listen() that
//             node:cluster makes itself)
//   send    - the primary accepts on its own server (pauseOnConnect) and sends the socket with
//             worker.send(msg, socket), as `--workers` does for every listen source
// A forked client opens --count connections, --concurrency at a time, and reads each to its
// end. Reported: connections per second, and the primary's and the workers' CPU microseconds
// per connection (from /proc). The modes alternate for --rounds rounds; medians are printed.
import cluster from 'node:cluster';
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, readStat, setClockTicks } from './util.js';

const SELF = fileURLToPath(import.meta.url);

if (cluster.isWorker) {
  const answer = (sock) => {
    sock.on('error', () => {});
    sock.end('x');
  };
  if (process.env.HANDOFF_MODE === 'cluster') {
    net.createServer(answer).listen(Number(process.env.HANDOFF_PORT), '127.0.0.1', () => process.send('ready'));
  } else {
    process.on('message', (msg, sock) => {
      if (msg === 'conn' && sock) answer(sock);
    });
    process.send('ready');
  }
} else if (process.argv[2] === '--client') {
  // The client: connect, read to the end, repeat.
  const [port, count, concurrency] = process.argv.slice(3).map(Number);
  let started = 0;
  let failed = 0;
  const one = () =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('data', () => {});
      s.on('error', () => {
        failed++;
        resolve();
      });
      s.on('close', resolve);
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count) {
        started++;
        await one();
      }
    }),
  );
  process.send({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, failed });
  process.exit(0);
} else {
  const { values: opt } = parseArgs({
    options: {
      count: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '3' },
    },
  });
  setClockTicks(100);
  const cpuOf = (pid) => {
    const st = readStat(pid);
    return st ? st.user + st.system : 0;
  };
  const freePort = () =>
    new Promise((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });

  async function measure(mode) {
    const port = await freePort();
    cluster.setupPrimary({ exec: SELF, args: [] });
    const workers = [0, 1].map(() => cluster.fork({ HANDOFF_MODE: mode, HANDOFF_PORT: String(port) }));
    await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
    let server;
    if (mode === 'send') {
      let next = 0;
      server = net.createServer({ pauseOnConnect: true }, (sock) => {
        workers[next++ % workers.length].send('conn', sock);
      });
      await new Promise((r) => server.listen(port, '127.0.0.1', r));
    }
    const before = { primary: cpuOf(process.pid), workers: workers.map((w) => cpuOf(w.process.pid)) };
    const client = fork(SELF, ['--client', String(port), opt.count, opt.concurrency]);
    const result = await new Promise((r) => client.once('message', r));
    const count = Number(opt.count);
    const us = (s) => (s / count) * 1e6;
    const out = {
      perSec: count / result.seconds,
      primaryUs: us(cpuOf(process.pid) - before.primary),
      workersUs: us(workers.reduce((a, w, i) => a + cpuOf(w.process.pid) - before.workers[i], 0)),
      failed: result.failed,
    };
    server?.close();
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => new Promise((r) => w.process.once('exit', r))));
    return out;
  }

  const results = { cluster: [], send: [] };
  for (let round = 0; round < Number(opt.rounds); round++) {
    for (const mode of round % 2 ? ['send', 'cluster'] : ['cluster', 'send']) {
      const r = await measure(mode);
      results[mode].push(r);
      process.stderr.write(`round ${round + 1} ${mode.padEnd(7)} ${JSON.stringify(r)}\n`);
    }
  }
  for (const mode of ['cluster', 'send']) {
    const m = (k) => median(results[mode].map((r) => r[k])).toFixed(0);
    process.stdout.write(
      `${mode.padEnd(7)} ${m('perSec')} connections/s, primary ${m('primaryUs')} us CPU per connection, ` +
        `workers ${m('workersUs')} us\n`,
    );
  }
}
