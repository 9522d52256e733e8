// The proxies whose word about the client is believed (`--trusted-proxy CIDR,...`), and the
// client an X-Forwarded-For header names under them. The header is read right to left from the
// connection's peer: each hop that is a trusted proxy passes the question on to the address it
// received the request from, and the first hop that is not trusted is the client (the
// "rightmost untrusted" rule). Entries to the left of it were written by the client itself and
// are never believed. A request from a peer that is not trusted keeps its peer, header or not;
// a unix-socket peer is trusted (the socket's permissions decide who connects).

import net from 'node:net';
import type { AddressRange } from '../config/values.js';

/** `a.b.c.d` for an IPv4-mapped IPv6 address, else the address as given. */
export function unmapIpv4(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/**
 * The IP address in one X-Forwarded-For entry: `192.0.2.7`, `192.0.2.7:51000`, `2001:db8::7`,
 * `[2001:db8::7]` or `[2001:db8::7]:51000`; undefined for anything else (`unknown`, `_hidden`).
 */
export function forwardedAddress(entry: string): string | undefined {
  let text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed) text = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  return net.isIP(text) ? unmapIpv4(text) : undefined;
}

export class TrustedProxies {
  private readonly list = new net.BlockList();

  /** `ranges` as resolveOptions() checked them (`trustedProxies`). */
  constructor(ranges: readonly AddressRange[]) {
    for (const { address, prefix, family } of ranges) this.list.addSubnet(address, prefix, family);
  }

  /** Whether `address` (an IP address; IPv4-mapped IPv6 counts as IPv4) is a trusted proxy. */
  has(address: string | undefined): boolean {
    if (address === undefined) return false;
    const plain = unmapIpv4(address);
    const family = net.isIP(plain);
    return family !== 0 && this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * Whether the connection's own peer is believed: a trusted address, or a unix-socket client
   * (`unix:PATH`, or no address), whom the socket's file permissions let in.
   */
  trustsPeer(peer: string | undefined): boolean {
    return peer === undefined || peer.startsWith('unix:') || this.has(peer);
  }

  /**
   * The client of a request that arrived from `peer` with X-Forwarded-For `header` (Node joins
   * repeated headers with commas); undefined when the peer is not trusted or the header names
   * nobody. An entry that is not an address stops the walk at the hop that wrote it.
   */
  forwardedClient(peer: string | undefined, header: string | string[] | undefined): string | undefined {
    if (header === undefined || !this.trustsPeer(peer)) return undefined;
    const entries = (Array.isArray(header) ? header.join(',') : header).split(',').filter((e) => e.trim() !== '');
    let client: string | undefined;
    for (let i = entries.length - 1; i >= 0; i--) {
      const address = forwardedAddress(entries[i]!);
      if (address === undefined) break;
      client = address;
      if (!this.has(address)) break;
    }
    return client;
  }
}
