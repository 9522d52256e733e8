// `--heartbeat N`: ping the client every N seconds. Unlike the reference (which never looks at
// pongs), a client that shows no sign of life for two intervals is reported dead. A pong or
// any message counts as life; intervals in which the proxy itself holds the client back
// (backpressure: its pongs sit unread behind its data) do not count against it.

import type { ClientTransport } from './client-transport.js';

export interface Heartbeat {
  /** Records a sign of life (a message from the client). */
  alive(): void;
  stop(): void;
}

/**
 * Starts pinging. `isHeldBack` tells whether the proxy has paused reading the client;
 * `onDead` is called once when two intervals pass without a sign of life.
 */
export function startHeartbeat(
  ws: ClientTransport,
  intervalMs: number,
  isHeldBack: () => boolean,
  onDead: () => void,
): Heartbeat {
  let unanswered = 0;
  const alive = (): void => {
    unanswered = 0;
  };
  ws.on('pong', alive);
  const timer = setInterval(() => {
    if (unanswered >= 2) {
      stop();
      onDead();
      return;
    }
    if (!isHeldBack()) unanswered += 1;
    ws.ping();
  }, intervalMs);
  const stop = (): void => {
    clearInterval(timer);
    ws.off('pong', alive);
  };
  return { alive, stop };
}
