import type { WebSocket } from 'ws';

/**
 * Pacing shared by the fake venues (fake-binance-venue.ts, fake-coinbase-ws.ts): a burst waits
 * while a client's socket has more unsent than a high-water mark, and a simulated market sends
 * about N messages a second from a 10 ms timer.
 */
export const SOCKET_HIGH_WATER = 4 * 1024 * 1024;

/** Resolves once no open socket holds more than `highWater` bytes unsent. */
export async function drainSockets(
  sockets: Iterable<WebSocket>,
  highWater = SOCKET_HIGH_WATER,
): Promise<void> {
  for (const ws of sockets) {
    while (ws.readyState === ws.OPEN && ws.bufferedAmount > highWater) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

/** Calls `step` about `perSecond` times a second (batched every 10 ms); returns the stop function. */
export function paced(perSecond: number, step: () => void): () => void {
  const tickMs = 10;
  let credit = 0;
  const timer = setInterval(() => {
    credit += (perSecond * tickMs) / 1000;
    for (; credit >= 1; credit--) step();
  }, tickMs);
  return () => clearInterval(timer);
}
