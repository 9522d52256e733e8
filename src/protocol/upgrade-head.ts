// Reading a WebSocket upgrade request straight from a connection's first bytes, without Node's
// HTTP server: the fast path for the common case. It accepts only a strict subset of HTTP/1.1
// that Node's parser accepts too and reads the same way: `GET /origin-form HTTP/1.1` (no
// fragment), CRLF line ends, token header names, printable ASCII values, no folding, no body
// headers, the whole head in hand and within the header size limit, one Host, and one Upgrade
// header with `upgrade` among the tokens of one Connection header. Anything else, valid or not,
// is left to Node's parser (undefined), which answers it as before. Pure: bytes in, fields out.

import { hasToken } from './upgrade-request.js';

/** What the fast path read: the request line, the headers as received, and where the head ends. */
export interface UpgradeHead {
  url: string;
  /** Names and values alternating, as http.IncomingMessage's rawHeaders (values trimmed). */
  rawHeaders: string[];
  /** Bytes of the request head, the blank line included: what follows is the upgrade head. */
  length: number;
}

/** More header lines than this go to Node's parser (its own limit is far higher). */
const MAX_FAST_HEADERS = 64;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const REQUEST_LINE_START = Buffer.from('GET /', 'latin1');
const REQUEST_LINE_END = Buffer.from(' HTTP/1.1\r\n', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** A byte table: 1 where `chars` (and the ranges) allow the byte. */
function table(chars: string, ...ranges: [number, number][]): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  for (const [from, to] of ranges) t.fill(1, from, to + 1);
  return t;
}

const ALNUM: [number, number][] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];
/** RFC 9110 tchar. */
const TOKEN = table("!#$%&'*+-.^_`|~", ...ALNUM);
/** RFC 3986 pchar, '/', '?' and '%': the request target's characters on the fast path. */
const URL_CHAR = table("-._~!$&'()*+,;=:@/?%", ...ALNUM);
/** Printable ASCII, space and tab: header value bytes on the fast path. */
const VALUE_CHAR = table('\t', [0x20, 0x7e]);

function allowed(bytes: Buffer, from: number, to: number, chars: Uint8Array): boolean {
  for (let i = from; i < to; i++) if (chars[bytes[i]!] === 0) return false;
  return true;
}

/**
 * Reads an upgrade request from `bytes`, the connection's first bytes; undefined when the fast
 * path does not take them (Node's HTTP server then reads them, as it would have anyway).
 */
export function readUpgradeHead(bytes: Buffer, maxHeaderSize: number): UpgradeHead | undefined {
  const end = bytes.indexOf(HEAD_END);
  // A request line first: without one the head is shorter than `GET /` (Buffer.compare throws).
  if (end < REQUEST_LINE_START.length || end + HEAD_END.length > maxHeaderSize) return undefined;
  if (bytes.compare(REQUEST_LINE_START, 0, REQUEST_LINE_START.length, 0, REQUEST_LINE_START.length) !== 0) {
    return undefined;
  }
  const lineEnd = bytes.indexOf(LF);
  const targetEnd = lineEnd + 1 - REQUEST_LINE_END.length;
  if (targetEnd <= 4 || bytes.compare(REQUEST_LINE_END, 0, REQUEST_LINE_END.length, targetEnd, lineEnd + 1) !== 0) {
    return undefined;
  }
  if (!allowed(bytes, 4, targetEnd, URL_CHAR)) return undefined;
  const rawHeaders: string[] = [];
  let upgrade = 0;
  let connectionUpgrade = false;
  let connections = 0;
  let hosts = 0;
  let pos = lineEnd + 1;
  const headEnd = end + 2; // the CRLF that ends the last header line
  while (pos < headEnd) {
    const eol = bytes.indexOf(LF, pos);
    if (eol < 0 || eol > headEnd || bytes[eol - 1] !== CR) return undefined;
    const colon = bytes.indexOf(COLON, pos);
    if (colon <= pos || colon > eol || !allowed(bytes, pos, colon, TOKEN)) return undefined;
    let from = colon + 1;
    const to = eol - 1;
    if (!allowed(bytes, from, to, VALUE_CHAR)) return undefined;
    while (from < to && (bytes[from] === SP || bytes[from] === HTAB)) from++;
    // Trailing whitespace, and so a value of only whitespace: Node's parser decides.
    if (to > colon + 1 && (bytes[to - 1] === SP || bytes[to - 1] === HTAB)) return undefined;
    const name = bytes.toString('latin1', pos, colon);
    const value = bytes.toString('latin1', from, to);
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding') return undefined;
    if (lower === 'upgrade') upgrade++;
    if (lower === 'host') hosts++;
    if (lower === 'connection') {
      connections++;
      connectionUpgrade = hasToken(value, 'upgrade');
    }
    rawHeaders.push(name, value);
    if (rawHeaders.length > 2 * MAX_FAST_HEADERS) return undefined;
    pos = eol + 1;
  }
  if (upgrade !== 1 || connections !== 1 || !connectionUpgrade || hosts !== 1) return undefined;
  return { url: bytes.toString('latin1', 4, targetEnd), rawHeaders, length: end + HEAD_END.length };
}
