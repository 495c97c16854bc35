import type { Logger } from '@aegis/shared/logging';
import { ReconnectingSocket, type SocketLifecycle } from '../reconnecting-socket.ts';
import { type UserOrderUpdate, userStreamMessage } from './schemas.ts';

/**
 * The `user` channel of the Advanced Trade WebSocket ("User Order Data" endpoint,
 * wss://advanced-trade-ws-user.coinbase.com): after the socket opens, subscribe with a CDP JWT
 *
 *   {"type":"subscribe","channel":"user","jwt":"…"}      (product_ids omitted: every product)
 *   {"type":"subscribe","channel":"heartbeats","jwt":"…"} (keeps a quiet channel open)
 *
 * answered by `{"channel":"subscriptions","events":[{"subscriptions":{"user":[…]}}]}`; then
 * `{"channel":"user","events":[{"type":"snapshot"|"update","orders":[…]}]}`. A refused JWT is
 * `{"type":"error","message":"…"}`. Coinbase documents the user channel for CDP keys only, so
 * an OAuth link never opens this stream (the adapter polls instead).
 *
 * The connection is kept up by ReconnectingSocket: capped exponential backoff, and every
 * connection the backoff timer re-establishes calls `onReconnect` (the adapter then re-reads what
 * it may have missed).
 */
/** The connection's life (reconnects, backoff, handshake timeout) is a SocketLifecycle. */
export interface UserStreamOptions extends SocketLifecycle {
  readonly url: string;
  /** A fresh JWT per (re)subscription: they live 120 s. */
  readonly jwt: () => Promise<string>;
  readonly log: Logger;
  /** `timestamp`: the message's own time (ISO), when it carries one. */
  readonly onOrders: (orders: UserOrderUpdate[], timestamp: string | null) => void;
}

/** A ReconnectingSocket speaking this protocol: `start()` resolves when subscribed. */
export class UserStream extends ReconnectingSocket {
  constructor(o: UserStreamOptions) {
    super({
      ...o,
      name: 'coinbase user stream',
      hello: async (send) => {
        const jwt = await o.jwt();
        send({ type: 'subscribe', channel: 'user', jwt });
        send({ type: 'subscribe', channel: 'heartbeats', jwt });
      },
      message: (msg, handshake) => {
        const parsed = userStreamMessage.safeParse(msg);
        if (!parsed.success) {
          // "New message types can be added at any time. Clients are expected to ignore them."
          o.log.debug('coinbase user stream: an undocumented message was ignored');
          return;
        }
        const m = parsed.data;
        if ('type' in m) {
          o.log.warn({ brokerMessage: m.message }, 'coinbase user stream: error message');
          handshake.fail(new Error(`coinbase user stream: ${m.message}`));
          return;
        }
        if (m.channel === 'subscriptions') {
          if (m.events.some((e) => 'user' in e.subscriptions)) handshake.ready();
          return;
        }
        if (m.channel === 'user')
          for (const e of m.events) if (e.orders.length) o.onOrders(e.orders, validIso(m.timestamp));
      },
    });
  }
}

const validIso = (ts: string | undefined): string | null =>
  ts && Number.isFinite(Date.parse(ts)) ? ts : null;
