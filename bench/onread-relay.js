// A ceiling for a Node relay: TCP both ways, every socket reading into its own reused 1 MiB
// buffer, each read written to the other side as it is, that side not read again until the
// write completed.
//
//   node bench/onread-relay.js [LISTEN_HOST:]LISTEN_PORT TARGET_HOST:TARGET_PORT
//
// The target side uses Node's documented `onread` option of net.connect. Accepted sockets
// have no such option: the relay gives them the same buffers through the properties
// net.Socket keeps for `onread` (found by their symbol names, as src/proxy/read-buffers.ts
// does), so both directions are measured the same way.
import net from 'node:net';
import { relayArgs } from './util.js';

const SIZE = 1024 * 1024;

const { listen, target } = relayArgs('onread-relay.js');

/** Forwards each read into `buf` to `peer()`; false pauses the reader until that write is done. */
function forwarder(buf, peer, reader) {
  let waiting = false;
  // 'drain' follows only writes over the high-water mark: the write callback always comes.
  const written = () => {
    if (waiting && peer().writableLength === 0) {
      waiting = false;
      reader().resume();
    }
  };
  return (nread) => {
    const other = peer();
    other.write(buf.subarray(0, nread), written);
    if (other.writableLength === 0) return true;
    waiting = true;
    return false;
  };
}

function adopt(socket, buf, callback) {
  const find = (name) => Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
  socket[find('kBuffer')] = buf;
  socket[find('kBufferCb')] = callback;
  socket._handle.useUserBuffer(buf);
}

const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (client) => {
  const upBuf = Buffer.allocUnsafeSlow(SIZE);
  const downBuf = Buffer.allocUnsafeSlow(SIZE);
  const upstream = net.connect({
    host: target.host,
    port: target.port,
    noDelay: true,
    onread: {
      buffer: downBuf,
      callback: forwarder(
        downBuf,
        () => client,
        () => upstream,
      ),
    },
  });
  adopt(
    client,
    upBuf,
    forwarder(
      upBuf,
      () => upstream,
      () => client,
    ),
  );
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  client.once('end', () => upstream.end());
  upstream.once('end', () => client.end());
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => client.destroy());
  upstream.once('connect', () => client.resume());
});
server.listen(listen.port, listen.host);
process.on('SIGTERM', () => process.exit(0));
