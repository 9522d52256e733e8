// `--heartbeat N`: ping the client every N seconds. Unlike the reference (which never looks at
// pongs), a client that leaves two pings unanswered is reported dead. Only a ping the client
// could have answered counts: one the socket has actually taken (not one still queued behind
// data toward a slow reader), and only over intervals in which the proxy was reading the
// client (not holding it back because the target is full). A pong or any message is life.

import type { ClientTransport } from './client-transport.js';

export interface Heartbeat {
  /** Records a sign of life (a pong or a message from the client). */
  alive(): void;
  stop(): void;
}

/**
 * Starts pinging. `isHeldBack` tells whether the proxy has paused reading the client;
 * `onDead` is called once when two written pings went a whole interval each without an answer.
 */
export function startHeartbeat(
  client: ClientTransport,
  intervalMs: number,
  isHeldBack: () => boolean,
  onDead: () => void,
): Heartbeat {
  /** Intervals each written, unanswered ping has been out (the client was read meanwhile). */
  let outstanding: number[] = [];
  /** A ping handed to the socket and not yet written: no second one is queued behind it. */
  let queued = false;
  let generation = 0;
  const alive = (): void => {
    outstanding = [];
    generation++;
  };
  const timer = setInterval(() => {
    if (!isHeldBack()) outstanding = outstanding.map((n) => n + 1);
    if (outstanding.filter((n) => n >= 1).length >= 2) {
      stop();
      onDead();
      return;
    }
    if (queued) return;
    queued = true;
    const sentIn = generation;
    client.ping(() => {
      queued = false;
      // A sign of life while it was queued answers it too.
      if (sentIn === generation) outstanding.push(0);
    });
  }, intervalMs);
  const stop = (): void => clearInterval(timer);
  return { alive, stop };
}
