import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP relay in front of PostgreSQL that can make the connections it carries go silent: bytes
 * are swallowed in both directions while both sockets stay open — a stalled host or a silent
 * network drop, which neither side notices (TCP keepalive is answered by this relay's kernel).
 * Connections opened after `stallOpen()` are relayed normally, as after a network path heals for
 * new connections only.
 */
export interface StallProxy {
  readonly port: number;
  /** Connections relayed so far (open or closed). */
  readonly connections: number;
  /** Every connection open now stops relaying, for good. */
  stallOpen(): void;
  close(): Promise<void>;
}

export async function startStallProxy(target: { host: string; port: number }): Promise<StallProxy> {
  const open = new Set<{ client: Socket; upstream: Socket; stalled: boolean }>();
  let connections = 0;
  const server = createServer((client) => {
    connections++;
    const upstream = tcpConnect(target.port, target.host);
    const pair = { client, upstream, stalled: false };
    open.add(pair);
    client.on('data', (b) => {
      if (!pair.stalled) upstream.write(b);
    });
    upstream.on('data', (b) => {
      if (!pair.stalled) client.write(b);
    });
    const end = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('stall proxy: no port');
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    stallOpen() {
      for (const pair of open) pair.stalled = true;
    },
    async close() {
      for (const pair of open) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
