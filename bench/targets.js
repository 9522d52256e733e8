// Benchmark targets, run as their own process (forked by bench/run.js, or by hand).
//
//   echo   - writes back whatever it receives.
//   sink   - reads an 8-byte big-endian length N, then counts bytes; once N payload
//            bytes have arrived it writes a single 0x01 byte back (the "done" report).
//   source - on connect, sends N bytes (--source-bytes) in --chunk sized writes,
//            honouring back-pressure, then leaves the connection open for the client
//            to close.
//   request - reads an 8-byte big-endian length N, then sends N bytes as the source
//            does (the aggregate test: many streams, each asking for its share).
//
// All listen on 127.0.0.1, port 0 (or the ports given). When started with an IPC
// channel it sends {type:'ready', ports:{echo,sink,source,request}} and exits when the
// parent disconnects; otherwise it prints the ports as JSON on stdout.
import crypto from 'node:crypto';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    'source-bytes': { type: 'string', default: String(256 * 1024 * 1024) },
    chunk: { type: 'string', default: String(64 * 1024) },
    'echo-port': { type: 'string', default: '0' },
    'sink-port': { type: 'string', default: '0' },
    'source-port': { type: 'string', default: '0' },
    'request-port': { type: 'string', default: '0' },
  },
});

const host = opts.host;
const sourceBytes = Number(opts['source-bytes']);
const chunkSize = Number(opts.chunk);
const chunk = crypto.randomBytes(chunkSize);

const stats = { echo: 0, sink: 0, source: 0, request: 0, open: { echo: 0, sink: 0, source: 0, request: 0 } };

function track(kind, sock) {
  stats[kind]++;
  stats.open[kind]++;
  sock.setNoDelay(true);
  sock.on('error', () => sock.destroy());
  sock.once('close', () => stats.open[kind]--);
}

const echo = net.createServer((sock) => {
  track('echo', sock);
  sock.pipe(sock);
});

const sink = net.createServer((sock) => {
  track('sink', sock);
  let header = Buffer.alloc(0);
  let expected = -1;
  let got = 0;
  let acked = false;
  sock.on('data', (data) => {
    if (expected < 0) {
      header = Buffer.concat([header, data]);
      if (header.length < 8) return;
      expected = Number(header.readBigUInt64BE(0));
      data = header.subarray(8);
    }
    got += data.length;
    if (!acked && got >= expected) {
      acked = true;
      sock.write(Buffer.from([1]));
    }
  });
});

/** Sends `total` bytes in chunk-sized writes, waiting for 'drain' when the socket is full. */
function sendBytes(sock, total) {
  let sent = 0;
  const pump = () => {
    while (sent < total && !sock.destroyed) {
      const n = Math.min(chunkSize, total - sent);
      sent += n;
      if (!sock.write(n === chunkSize ? chunk : chunk.subarray(0, n))) {
        sock.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

const source = net.createServer((sock) => {
  track('source', sock);
  sendBytes(sock, sourceBytes);
});

const request = net.createServer((sock) => {
  track('request', sock);
  let header = Buffer.alloc(0);
  const onData = (data) => {
    header = Buffer.concat([header, data]);
    if (header.length < 8) return;
    sock.off('data', onData);
    sendBytes(sock, Number(header.readBigUInt64BE(0)));
  };
  sock.on('data', onData);
});

const listen = (srv, port) =>
  new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ host, port: Number(port), backlog: 4096 }, () => resolve(srv.address().port));
  });

const ports = {
  echo: await listen(echo, opts['echo-port']),
  sink: await listen(sink, opts['sink-port']),
  source: await listen(source, opts['source-port']),
  request: await listen(request, opts['request-port']),
};

if (process.send) {
  process.on('message', (msg) => {
    if (msg && msg.type === 'stats') process.send({ type: 'stats', stats });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', ports, host, sourceBytes, chunkSize });
} else {
  process.stdout.write(JSON.stringify({ host, ports, sourceBytes, chunkSize }) + '\n');
}
