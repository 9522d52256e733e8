// `--heartbeat N`: ping the client every N seconds. Unlike the reference (which never looks at
// pongs), a client that has answered none of the last two pings is reported dead.

import type { WebSocket } from 'ws';

/** Starts pinging; calls `onDead` once when two intervals pass without a pong. Returns stop. */
export function startHeartbeat(ws: WebSocket, intervalMs: number, onDead: () => void): () => void {
  let unanswered = 0;
  const onPong = (): void => {
    unanswered = 0;
  };
  ws.on('pong', onPong);
  const timer = setInterval(() => {
    if (unanswered >= 2) {
      stop();
      onDead();
      return;
    }
    unanswered += 1;
    ws.ping();
  }, intervalMs);
  const stop = (): void => {
    clearInterval(timer);
    ws.off('pong', onPong);
  };
  return stop;
}
