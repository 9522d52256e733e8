// Choosing the loopback port a wrapped program is moved to: a port the kernel hands out as free
// on dual-stack :: (so it is free for IPv4 and IPv6 alike), or on 127.0.0.1 where IPv6 is off.

import net from 'node:net';

function probe(host: string, ipv6Only: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, ipv6Only }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function pickFreeLoopbackPort(): Promise<number> {
  try {
    return await probe('::', false);
  } catch {
    return probe('127.0.0.1', false);
  }
}
