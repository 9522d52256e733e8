// `--heartbeat N`: ping the client every N seconds. Unlike the reference (which never looks at
// pongs), a client that leaves two pings unanswered is reported dead. Only a ping the client
// could have answered counts: one the socket has actually taken (not one still queued behind
// data toward a slow reader), and only over intervals at whose end nothing waits to be written
// toward the client, the proxy was reading it (not holding it back because the target is full),
// and none of the output toward it completed (a slow reader still reading is alive). A pong or
// any message is life. Data already in the kernel's socket buffers cannot be seen from here: a
// ping behind megabytes of it reaches a very slow reader late (see README, --heartbeat).

import type { ClientTransport } from './client-transport.js';

export interface Heartbeat {
  /** Records a sign of life (a pong or a message from the client). */
  alive(): void;
  /** Output toward the client was taken by its socket. */
  progress(): void;
  stop(): void;
}

/**
 * Starts pinging. `isHeldBack` tells whether the proxy has paused reading the client or still
 * has output queued toward it;
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
  let moved = false;
  const alive = (): void => {
    outstanding = [];
    generation++;
  };
  const timer = setInterval(() => {
    if (!isHeldBack() && !moved) outstanding = outstanding.map((n) => n + 1);
    moved = false;
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
  const progress = (): void => {
    moved = true;
  };
  return { alive, progress, stop };
}
