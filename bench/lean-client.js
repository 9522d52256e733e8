// The throughput tests' load generator: a client that costs as little CPU per byte as a Node
// program can, so that on a small machine the proxy, not the client, sets the rate.
//
// Both kinds read with `onread` into one reused 1 MiB buffer. The WebSocket kind does its own
// handshake (checking the 101 and Sec-WebSocket-Accept) and a streaming frame parser that
// only counts payload bytes: `onData` gets views into the read buffer, valid only during the
// call. It sends binary frames, each with a fresh random mask, masked into one of a few
// reused frame buffers. It is the same client for every system in the run, WebSocket or TCP.
//
// Same interface as clients.js's connections: onData, unclaimed, error, closed, write(buf),
// drained(), close(timeoutMs), destroy().
import crypto from 'node:crypto';
import net from 'node:net';
import { SendWindow } from './send-window.js';

const READ_SIZE = 1024 * 1024;
const MAX_PENDING = 16; // frames written and not yet flushed before write() says wait
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

let maskBytes = (src, mask, out, offset, length) => {
  for (let i = 0; i < length; i++) out[offset + i] = src[i] ^ mask[i & 3];
};
try {
  const bu = await import('bufferutil');
  const native = bu.default?.mask ?? bu.mask;
  if (native) maskBytes = native;
} catch {
  // plain JavaScript masking stays
}

class LeanConn {
  constructor(sock, ws) {
    this.sock = sock;
    this.ws = ws;
    this.onData = null;
    this.unclaimed = [];
    this.error = null;
    this.window = new SendWindow(MAX_PENDING, (err) => (this.error ??= err));
    this.free = []; // frame buffers whose writes completed
    this.closed = new Promise((resolve) => sock.once('close', resolve));
    sock.on('error', (err) => {
      this.error ??= err;
    });
    // Frame parser state (WebSocket only).
    this.head = Buffer.alloc(14);
    this.headLen = 0;
    this.payloadLeft = 0;
    this.opcode = 0;
    this.control = [];
    this.sentClose = false;
  }

  deliver(view) {
    if (this.onData) this.onData(view);
    else if (this.unclaimed) this.unclaimed.push(Buffer.from(view));
  }

  /** One read of `n` bytes at the start of `buf`. */
  onRead(buf, n) {
    if (!this.ws) {
      this.deliver(buf.subarray(0, n));
      return;
    }
    let i = 0;
    while (i < n) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, n - i);
        const view = buf.subarray(i, i + take);
        if (this.opcode >= 8) this.control.push(Buffer.from(view));
        else this.deliver(view);
        this.payloadLeft -= take;
        i += take;
        if (this.payloadLeft === 0 && this.opcode >= 8) this.controlDone();
        continue;
      }
      this.head[this.headLen++] = buf[i++];
      if (this.headLen < 2) continue;
      const len7 = this.head[1] & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.head[1] & 0x80 ? 4 : 0);
      if (this.headLen < need) continue;
      const op = this.head[0] & 0x0f;
      if (op !== 0) this.opcode = op; // continuation frames keep their message's opcode
      this.payloadLeft =
        len7 === 126 ? this.head.readUInt16BE(2) : len7 === 127 ? Number(this.head.readBigUInt64BE(2)) : len7;
      this.headLen = 0;
      if (this.payloadLeft === 0 && op >= 8) this.controlDone();
    }
  }

  controlDone() {
    const payload = Buffer.concat(this.control);
    this.control = [];
    if (this.opcode === 9) this.sendFrame(0xa, payload);
    else if (this.opcode === 8) {
      if (!this.sentClose) this.sendFrame(0x8, payload.subarray(0, 2));
      this.sentClose = true;
      this.sock.end();
    }
    this.opcode = 2;
  }

  sendFrame(opcode, payload, done) {
    const len = payload.length;
    const hlen = len < 126 ? 2 : len < 65536 ? 4 : 10;
    let frame = this.free.pop();
    if (!frame || frame.length < hlen + 4 + len) frame = Buffer.allocUnsafeSlow(hlen + 4 + len);
    frame[0] = 0x80 | opcode;
    if (hlen === 2) frame[1] = 0x80 | len;
    else if (hlen === 4) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(len), 2);
    }
    const mask = crypto.randomFillSync(frame.subarray(hlen, hlen + 4));
    maskBytes(payload, mask, frame, hlen + 4, len);
    this.sock.write(frame.subarray(0, hlen + 4 + len), (err) => {
      this.free.push(frame);
      done?.(err);
    });
  }

  /** Queue bytes; false means "wait for drained() before writing more". */
  write(buf) {
    const more = this.window.add();
    if (this.ws) this.sendFrame(0x2, buf, this.window.done);
    else this.sock.write(buf, this.window.done);
    return more;
  }

  drained() {
    return this.window.drained(this.closed);
  }

  async close(timeoutMs = 5000) {
    if (this.sock.destroyed) return;
    if (this.ws && !this.sentClose) {
      this.sentClose = true;
      this.sendFrame(0x8, Buffer.from([0x03, 0xe8]));
    } else if (!this.ws) this.sock.end();
    const timer = setTimeout(() => this.sock.destroy(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  destroy() {
    this.sock.destroy();
  }
}

/** The upgrade request for `ep`, and the Sec-WebSocket-Accept the server must answer with. */
function upgradeRequest(ep) {
  const key = crypto.randomBytes(16).toString('base64');
  const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
  const lines = [
    `GET ${ep.path || '/'} HTTP/1.1`,
    `Host: ${host}:${ep.port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (ep.subprotocols?.length) lines.push(`Sec-WebSocket-Protocol: ${ep.subprotocols.join(', ')}`);
  const accept = crypto
    .createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  return { text: lines.join('\r\n') + '\r\n\r\n', accept };
}

/** Opens a lean connection to `ep` ({proto:'ws'|'tcp', host, port, path?, subprotocols?}). */
export function openLean(ep, timeoutMs = 15000) {
  const ws = ep.proto !== 'tcp';
  return new Promise((resolve, reject) => {
    const buf = Buffer.allocUnsafeSlow(READ_SIZE);
    let conn = null;
    let response = ws ? Buffer.alloc(0) : null;
    let expected = null;
    const fail = (err) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    const onRead = (n) => {
      if (!response) {
        conn.onRead(buf, n);
        return true;
      }
      response = Buffer.concat([response, buf.subarray(0, n)]);
      const end = response.indexOf('\r\n\r\n');
      if (end < 0) {
        if (response.length > 16384) fail(new Error('upgrade response too long'));
        return true;
      }
      const head = response.subarray(0, end).toString('latin1');
      const rest = response.subarray(end + 4);
      response = null;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
      if (status !== '101' || accept !== expected) {
        fail(new Error(status !== '101' ? `unexpected HTTP ${status} on upgrade` : 'wrong Sec-WebSocket-Accept'));
        return false;
      }
      clearTimeout(timer);
      sock.removeListener('error', fail);
      if (rest.length) {
        rest.copy(buf);
        conn.onRead(buf, rest.length);
      }
      resolve(conn);
      return true;
    };
    const sock = net.connect({
      host: ep.host,
      port: ep.port,
      noDelay: true,
      onread: { buffer: buf, callback: onRead },
    });
    conn = new LeanConn(sock, ws);
    const timer = setTimeout(() => fail(new Error('connect timeout')), timeoutMs);
    sock.once('error', fail);
    sock.once('connect', () => {
      if (!ws) {
        clearTimeout(timer);
        sock.removeListener('error', fail);
        resolve(conn);
        return;
      }
      const req = upgradeRequest(ep);
      expected = req.accept;
      sock.write(req.text);
    });
  });
}
