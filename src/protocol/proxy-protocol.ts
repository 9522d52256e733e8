// HAProxy's PROXY protocol, versions 1 (text) and 2 (binary), as the receiving side reads it:
// the header a load balancer puts in front of a relayed connection, naming the client's address.
// parseProxyHeader() looks at the bytes received so far and says whether they are a complete
// header (and how long it is), need more bytes, or are not a valid header; it never reads past
// the header, so what follows (a TLS ClientHello, an HTTP request) stays the caller's.
// Spec: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt

import net from 'node:net';
import { crc32c } from './crc32c.js';

export type ProxyEndpoint = { address: string; port: number } | { path: string };

export interface ProxyTlv {
  type: number;
  value: Buffer;
}

export interface ProxyHeader {
  version: 1 | 2;
  /**
   * 'proxy': a relayed connection, `source` is the client; 'local': the proxy's own connection
   * (a v2 health check), whose real endpoints are the socket's.
   */
  command: 'proxy' | 'local';
  /** 'unknown': v1 `UNKNOWN` or v2 AF_UNSPEC (and every LOCAL header): no addresses given. */
  family: 'tcp4' | 'tcp6' | 'unix' | 'unknown';
  /** Present for tcp4, tcp6 and unix. */
  source?: ProxyEndpoint;
  destination?: ProxyEndpoint;
  /** v2 type-length-value extensions, in order (a CRC32C one has been checked). */
  tlvs: ProxyTlv[];
  /** Bytes the header takes at the start of the stream. */
  length: number;
}

export type ProxyParse =
  { kind: 'header'; header: ProxyHeader } | { kind: 'incomplete' } | { kind: 'invalid'; reason: string };

/** The 12 bytes every v2 header starts with. */
export const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** A v1 line is at most 107 bytes, CRLF included. */
export const V1_MAX_LENGTH = 107;
/** Largest v2 header accepted (the spec allows 64 KiB of TLVs; proxies send far less). */
export const V2_MAX_LENGTH = 4096;

export const PP2_TYPE = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  NETNS: 0x30,
} as const;

const invalid = (reason: string): ProxyParse => ({ kind: 'invalid', reason });
const INCOMPLETE: ProxyParse = { kind: 'incomplete' };

/** True while `bytes` are a strict prefix of `whole`; false once they differ. */
function isPrefixOf(bytes: Buffer, whole: Buffer): boolean {
  const n = Math.min(bytes.length, whole.length);
  return bytes.compare(whole, 0, n, 0, n) === 0;
}

/**
 * Reads a PROXY header (v1 or v2) at the start of `bytes`, the bytes received so far. A
 * connection whose first bytes cannot start either version is invalid at once.
 */
export function parseProxyHeader(bytes: Buffer): ProxyParse {
  if (bytes.length === 0) return INCOMPLETE;
  if (isPrefixOf(bytes, V2_SIGNATURE)) return bytes.length < 16 ? INCOMPLETE : parseV2(bytes);
  if (isPrefixOf(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? INCOMPLETE : parseV1(bytes);
  return invalid('no PROXY protocol signature');
}

// --- Version 1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" --------------------------

const PORT = /^(?:0|[1-9]\d{0,4})$/;

function v1Port(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function parseV1(bytes: Buffer): ProxyParse {
  const window = bytes.subarray(0, V1_MAX_LENGTH);
  const lf = window.indexOf(0x0a);
  if (lf === -1) return bytes.length >= V1_MAX_LENGTH ? invalid('v1 line longer than 107 bytes') : INCOMPLETE;
  if (lf === 0 || window[lf - 1] !== 0x0d) return invalid('v1 line not ended by CRLF');
  const line = window.toString('latin1', 0, lf - 1);
  const length = lf + 1;
  if (line.includes('\r')) return invalid('v1 line holds a stray CR');
  const fields = line.split(' ');
  const protocol = fields[1];
  if (protocol === 'UNKNOWN') {
    return { kind: 'header', header: { version: 1, command: 'proxy', family: 'unknown', tlvs: [], length } };
  }
  if (protocol !== 'TCP4' && protocol !== 'TCP6')
    return invalid(`v1 protocol '${protocol ?? ''}' is not TCP4, TCP6 or UNKNOWN`);
  if (fields.length !== 6) return invalid(`v1 ${protocol} line has ${fields.length - 2} fields, not 4`);
  const [, , src, dst, sport, dport] = fields as [string, string, string, string, string, string];
  const isIp = protocol === 'TCP4' ? net.isIPv4 : net.isIPv6;
  if (!isIp(src))
    return invalid(`v1 source address '${src}' is not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  if (!isIp(dst))
    return invalid(`v1 destination address '${dst}' is not an ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  const sourcePort = v1Port(sport);
  const destinationPort = v1Port(dport);
  if (sourcePort === undefined) return invalid(`v1 source port '${sport}' is not a port number`);
  if (destinationPort === undefined) return invalid(`v1 destination port '${dport}' is not a port number`);
  return {
    kind: 'header',
    header: {
      version: 1,
      command: 'proxy',
      family: protocol === 'TCP4' ? 'tcp4' : 'tcp6',
      source: { address: src, port: sourcePort },
      destination: { address: dst, port: destinationPort },
      tlvs: [],
      length,
    },
  };
}

// --- Version 2: signature, version/command, family/transport, length, addresses, TLVs ----------

/** Address block sizes by family nibble: AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX. */
const ADDRESS_BYTES = [0, 12, 36, 216] as const;
const FAMILY_NAMES = ['unknown', 'tcp4', 'tcp6', 'unix'] as const;

/** An IPv6 address in the form Node gives remoteAddress: compressed, lower case, ::ffff:a.b.c.d. */
export function formatIpv6(bytes: Buffer): string {
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${[...bytes.subarray(12, 16)].join('.')}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let best = -1;
  let bestLength = 1; // a single zero group is not compressed
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

function unixPath(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.toString('utf8', 0, nul === -1 ? bytes.length : nul);
}

function readAddresses(family: number, block: Buffer): { source: ProxyEndpoint; destination: ProxyEndpoint } {
  if (family === 1) {
    return {
      source: { address: [...block.subarray(0, 4)].join('.'), port: block.readUInt16BE(8) },
      destination: { address: [...block.subarray(4, 8)].join('.'), port: block.readUInt16BE(10) },
    };
  }
  if (family === 2) {
    return {
      source: { address: formatIpv6(block.subarray(0, 16)), port: block.readUInt16BE(32) },
      destination: { address: formatIpv6(block.subarray(16, 32)), port: block.readUInt16BE(34) },
    };
  }
  return {
    source: { path: unixPath(block.subarray(0, 108)) },
    destination: { path: unixPath(block.subarray(108, 216)) },
  };
}

function readTlvs(header: Buffer, offset: number): ProxyTlv[] | string {
  const tlvs: ProxyTlv[] = [];
  while (offset < header.length) {
    if (header.length - offset < 3) return `${header.length - offset} stray bytes after the last TLV`;
    const type = header[offset]!;
    const length = header.readUInt16BE(offset + 1);
    const start = offset + 3;
    if (start + length > header.length) return `TLV 0x${type.toString(16)} runs past the header`;
    tlvs.push({ type, value: header.subarray(start, start + length) });
    if (type === PP2_TYPE.CRC32C) {
      if (length !== 4) return `CRC32C TLV of ${length} bytes, not 4`;
      const zeroed = Buffer.from(header);
      zeroed.fill(0, start, start + 4);
      if (crc32c(zeroed) !== header.readUInt32BE(start)) return 'CRC32C checksum does not match';
    }
    offset = start + length;
  }
  return tlvs;
}

function parseV2(bytes: Buffer): ProxyParse {
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) return invalid(`v2 version ${versionCommand >> 4}, not 2`);
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid(`v2 command ${command} is neither LOCAL nor PROXY`);
  const length = 16 + bytes.readUInt16BE(14);
  if (length > V2_MAX_LENGTH) return invalid(`v2 header of ${length} bytes, over the ${V2_MAX_LENGTH}-byte limit`);
  if (bytes.length < length) return INCOMPLETE;
  const header = bytes.subarray(0, length);
  if (command === 0) {
    // LOCAL: the proxy speaks for itself; the address block and family are ignored (spec 2.2).
    return { kind: 'header', header: { version: 2, command: 'local', family: 'unknown', tlvs: [], length } };
  }
  const family = bytes[13]! >> 4;
  const transport = bytes[13]! & 0x0f;
  if (family > 3) return invalid(`v2 address family ${family} is unknown`);
  if (transport > 2) return invalid(`v2 transport protocol ${transport} is unknown`);
  const addressBytes = ADDRESS_BYTES[family as 0 | 1 | 2 | 3];
  if (16 + addressBytes > length) {
    return invalid(`v2 ${FAMILY_NAMES[family]} header holds ${length - 16} address bytes, needs ${addressBytes}`);
  }
  const tlvs = readTlvs(header, 16 + addressBytes);
  if (typeof tlvs === 'string') return invalid(`v2 ${tlvs}`);
  const base = { version: 2 as const, command: 'proxy' as const, tlvs, length };
  if (family === 0) return { kind: 'header', header: { ...base, family: 'unknown' } };
  const endpoints = readAddresses(family, header.subarray(16, 16 + addressBytes));
  return { kind: 'header', header: { ...base, family: FAMILY_NAMES[family]!, ...endpoints } };
}
