// Where a session's bytes go: the TargetSpec type, how it is described in logs, and opening the
// socket to it: TCP (TCP_NODELAY, keepalive), a unix-domain stream socket, or a wrapped
// program's moved port on loopback (127.0.0.1 or ::1, waiting a bounded time while it starts),
// then TLS on top when the spec asks for it (tls-target.ts).

import * as net from 'node:net';
import type { IncomingMessage } from 'node:http';
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
 * read it. Returning a rejection refuses the upgrade before the 101 is sent.
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

/** Called once with the connected socket, or with the error that ended the attempt. */
export type ConnectCallback = (err: NodeJS.ErrnoException | undefined, socket?: net.Socket) => void;

export interface ConnectOptions {
  /** How long one connection attempt (TCP, then TLS) may take; 0 for no limit. */
  timeoutMs: number;
  /** Read the plain (non-TLS) socket into these buffers (Node's `onread`). */
  onread?: net.OnReadOpts | undefined;
}

/** Cancels an attempt still in progress; the callback is not called after it. */
export type CancelConnect = () => void;

function timedOut(ms: number): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`connect timed out after ${ms / 1000} s`);
  err.code = 'ETIMEDOUT';
  return err;
}

/** One connection attempt; the socket is half-open capable (the target may stop sending first). */
function connectOnce(options: net.NetConnectOpts, timeoutMs: number, done: ConnectCallback): CancelConnect {
  const socket = net.connect({ ...options, allowHalfOpen: true });
  let timer: NodeJS.Timeout | undefined;
  const finish = (err: NodeJS.ErrnoException | undefined): void => {
    clearTimeout(timer);
    socket.off('connect', onConnect);
    socket.off('error', finish);
    if (err) {
      socket.destroy();
      done(err);
    } else {
      done(undefined, socket);
    }
  };
  const onConnect = (): void => finish(undefined);
  socket.once('connect', onConnect);
  socket.once('error', finish);
  if (timeoutMs > 0) timer = setTimeout(() => finish(timedOut(timeoutMs)), timeoutMs);
  return () => {
    clearTimeout(timer);
    socket.removeAllListeners('connect');
    socket.removeAllListeners('error');
    socket.on('error', () => {});
    socket.destroy();
  };
}

function tcpOptions(host: string, port: number, onread: net.OnReadOpts | undefined): net.NetConnectOpts {
  return { host, port, noDelay: true, keepAlive: true, onread };
}

/** Tries 127.0.0.1 then ::1, again every 100 ms while both refuse, until `waitMs` has passed. */
function connectLoopback(port: number, waitMs: number, opts: ConnectOptions, done: ConnectCallback): CancelConnect {
  const deadline = Date.now() + waitMs;
  let cancel: CancelConnect = () => {};
  let retry: NodeJS.Timeout | undefined;
  const attempt = (hostIndex: number): void => {
    const host = hostIndex === 0 ? '127.0.0.1' : '::1';
    cancel = connectOnce(tcpOptions(host, port, opts.onread), opts.timeoutMs, (err, socket) => {
      if (!err) return done(undefined, socket);
      if (hostIndex === 0) return attempt(1);
      if (Date.now() + RETRY_INTERVAL_MS > deadline) return done(err);
      retry = setTimeout(() => attempt(0), RETRY_INTERVAL_MS);
    });
  };
  attempt(0);
  return () => {
    clearTimeout(retry);
    cancel();
  };
}

function connectTarget(target: TargetSpec, opts: ConnectOptions, done: ConnectCallback): CancelConnect {
  const onread = target.tls ? undefined : opts.onread;
  switch (target.kind) {
    case 'tcp':
      return connectOnce(tcpOptions(target.host, target.port, onread), opts.timeoutMs, done);
    case 'unix':
      return connectOnce({ path: target.path, onread }, opts.timeoutMs, done);
    case 'loopback':
      return connectLoopback(target.port, target.waitMs, { ...opts, onread }, done);
  }
}

/** The name a target's TLS certificate must match. */
function tlsHost(target: TargetSpec, socket: net.Socket): string {
  if (target.kind === 'tcp') return target.host;
  return target.kind === 'loopback' ? (socket.remoteAddress ?? '127.0.0.1') : 'localhost';
}

/**
 * Opens a connected socket to the target (then TLS when the spec asks for it); `done` gets it,
 * or the last connection error. Returns a function that abandons the attempt.
 */
export function openTarget(target: TargetSpec, opts: ConnectOptions, done: ConnectCallback): CancelConnect {
  let cancelled = false;
  let cancel = connectTarget(target, opts, (err, socket) => {
    if (err || !target.tls) return done(err, socket);
    cancel = secureTarget(socket!, tlsHost(target, socket!), target.tls, (tlsErr, secured) => {
      if (!cancelled) done(tlsErr, secured);
    });
  });
  return () => {
    cancelled = true;
    cancel();
  };
}
