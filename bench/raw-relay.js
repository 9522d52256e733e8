// Baseline for the benchmark: a plain TCP relay, no WebSocket at all.
//
//   node bench/raw-relay.js [LISTEN_HOST:]LISTEN_PORT TARGET_HOST:TARGET_PORT
//
// Every accepted connection is relayed to the target with stream.pipe() in both
// directions. It does the least work any user-space proxy can do, so its numbers are
// the ceiling that a WebSocket proxy is compared against.
import net from 'node:net';
import { relayArgs } from './util.js';

const { listen, target } = relayArgs('raw-relay.js');

const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: target.host, port: target.port, noDelay: true });
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  // pipe() ends the other side on 'end'; a close of either side closes the other.
  client.once('close', () => upstream.end());
  upstream.once('close', () => client.end());
  client.pipe(upstream);
  upstream.pipe(client);
});

server.listen({ host: listen.host, port: listen.port, backlog: 4096 }, () => {
  process.stderr.write(`raw-relay: ${listen.host}:${server.address().port} -> ${target.host}:${target.port}\n`);
});

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
