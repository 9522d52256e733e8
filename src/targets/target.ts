// Where a session's bytes go: the TargetSpec type, how it is described in logs, and opening the
// socket to it: TCP (TCP_NODELAY, keepalive), a unix-domain stream socket, or a wrapped
// program's moved port on loopback (127.0.0.1 or ::1, waiting a bounded time while it starts),
// then TLS on top when the spec asks for it (tls-target.ts).

import * as net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatHostPort } from '../config/address.js';
import { secureTarget, type TargetTls } from './tls-target.js';

export type TargetSpec = (
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  /** A wrapped program's port: tried on 127.0.0.1 and [::1] until it answers or `waitMs` passes. */
  | { kind: 'loopback'; port: number; waitMs: number }
) & {
  /** Speak TLS to the target (`--ssl-target`). */
  tls?: TargetTls;
};

/**
 * Chooses the target for an upgrade request. Fixed targets ignore the request; token plugins
 * (later) read it. Returning a rejection refuses the upgrade before the 101 is sent.
 */
export type TargetResolver = (req: IncomingMessage) => TargetSpec | Promise<TargetSpec>;

export function describeTarget(target: TargetSpec): string {
  switch (target.kind) {
    case 'tcp':
      return formatHostPort(target.host, target.port);
    case 'unix':
      return target.path;
    case 'loopback':
      return `wrapped program (port ${target.port})`;
  }
}

const RETRY_INTERVAL_MS = 100;

/** One connection attempt; the socket is half-open capable (the target may stop sending first). */
function connectOnce(options: net.NetConnectOpts, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ ...options, allowHalfOpen: true });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    });
  });
}

function tcpOptions(host: string, port: number): net.NetConnectOpts {
  return { host, port, noDelay: true, keepAlive: true };
}

/** Tries 127.0.0.1 then ::1, again every 100 ms while both refuse, until `waitMs` has passed. */
async function connectLoopback(port: number, waitMs: number, signal: AbortSignal): Promise<net.Socket> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let lastError: Error | undefined;
    for (const host of ['127.0.0.1', '::1']) {
      try {
        return await connectOnce(tcpOptions(host, port), signal);
      } catch (err) {
        if (signal.aborted) throw err;
        lastError = err as Error;
      }
    }
    if (Date.now() + RETRY_INTERVAL_MS > deadline) throw lastError!;
    await sleep(RETRY_INTERVAL_MS, undefined, { signal });
  }
}

function connectTarget(target: TargetSpec, signal: AbortSignal): Promise<net.Socket> {
  switch (target.kind) {
    case 'tcp':
      return connectOnce(tcpOptions(target.host, target.port), signal);
    case 'unix':
      return connectOnce({ path: target.path }, signal);
    case 'loopback':
      return connectLoopback(target.port, target.waitMs, signal);
  }
}

/** The name a target's TLS certificate must match. */
function tlsHost(target: TargetSpec, socket: net.Socket): string {
  if (target.kind === 'tcp') return target.host;
  return target.kind === 'loopback' ? (socket.remoteAddress ?? '127.0.0.1') : 'localhost';
}

/** Opens a connected socket to the target; rejects with the last connection error or on abort. */
export async function openTarget(target: TargetSpec, signal: AbortSignal): Promise<net.Socket> {
  const socket = await connectTarget(target, signal);
  return target.tls ? secureTarget(socket, tlsHost(target, socket), target.tls, signal) : socket;
}
