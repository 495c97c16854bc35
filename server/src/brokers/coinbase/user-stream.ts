import type { Logger } from '@aegis/shared/logging';
import WebSocket from 'ws';
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
 * Reconnects on its own with capped exponential backoff; every subscription confirmed after the
 * first calls `onReconnect` (the adapter then re-reads what it may have missed).
 */
export interface UserStreamOptions {
  readonly url: string;
  /** A fresh JWT per (re)subscription: they live 120 s. */
  readonly jwt: () => Promise<string>;
  readonly log: Logger;
  /** `timestamp`: the message's own time (ISO), when it carries one. */
  readonly onOrders: (orders: UserOrderUpdate[], timestamp: string | null) => void;
  readonly onReconnect: () => void;
  readonly onDisconnect?: () => void;
  /** Backoff bounds for reconnecting. Defaults: 250 ms doubling to 15 s. */
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  /** Open + subscribe confirmation. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
}

export class UserStream {
  readonly #o: UserStreamOptions;
  #ws: WebSocket | null = null;
  #closed = false;
  #connectedOnce = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | null = null;
  #ready: Promise<void> | null = null;
  #listening = false;

  constructor(opts: UserStreamOptions) {
    this.#o = opts;
  }

  get listening(): boolean {
    return this.#listening;
  }

  /** Connects (once); resolves when subscribed, rejects if the first handshake fails (it keeps retrying). */
  start(): Promise<void> {
    this.#ready ??= this.#open().catch((err) => {
      this.#ready = null;
      this.#scheduleReconnect();
      throw err;
    });
    return this.#ready;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#listening = false;
    this.#ws?.terminate();
    this.#ws = null;
  }

  #open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#closed) {
        reject(new Error('coinbase user stream closed'));
        return;
      }
      const ws = new WebSocket(this.#o.url);
      this.#ws = ws;
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(handshake);
        ws.terminate();
        reject(err);
      };
      const handshake = setTimeout(
        () => fail(new Error('coinbase user stream: handshake timed out')),
        this.#o.handshakeTimeoutMs ?? 10_000,
      );
      handshake.unref?.();

      ws.on('open', () => {
        void this.#o.jwt().then(
          (jwt) => {
            ws.send(JSON.stringify({ type: 'subscribe', channel: 'user', jwt }));
            ws.send(JSON.stringify({ type: 'subscribe', channel: 'heartbeats', jwt }));
          },
          (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
        );
      });
      ws.on('message', (raw: WebSocket.RawData) => {
        const json = decode(raw);
        const parsed = userStreamMessage.safeParse(json);
        if (!parsed.success) {
          // "New message types can be added at any time. Clients are expected to ignore them."
          this.#o.log.debug('coinbase user stream: an undocumented message was ignored');
          return;
        }
        const m = parsed.data;
        if ('type' in m) {
          this.#o.log.warn({ brokerMessage: m.message }, 'coinbase user stream: error message');
          fail(new Error(`coinbase user stream: ${m.message}`));
          return;
        }
        if (m.channel === 'subscriptions') {
          const subscribed = m.events.some((e) => 'user' in e.subscriptions);
          if (!subscribed || settled) return;
          settled = true;
          clearTimeout(handshake);
          this.#listening = true;
          this.#attempt = 0;
          const reconnected = this.#connectedOnce;
          this.#connectedOnce = true;
          resolve();
          if (reconnected) this.#o.onReconnect();
          return;
        }
        if (m.channel === 'user')
          for (const e of m.events) if (e.orders.length) this.#o.onOrders(e.orders, validIso(m.timestamp));
      });
      ws.on('error', (err) => {
        this.#o.log.warn({ err: err.message }, 'coinbase user stream error');
        fail(err);
      });
      ws.on('close', () => {
        const wasListening = this.#listening;
        this.#listening = false;
        if (this.#ws === ws) this.#ws = null;
        fail(new Error('coinbase user stream closed during the handshake'));
        if (this.#closed) return;
        if (wasListening) this.#o.onDisconnect?.();
        this.#scheduleReconnect();
      });
    });
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer) return;
    const delay = Math.min(
      this.#o.reconnectMaxMs ?? 15_000,
      (this.#o.reconnectInitialMs ?? 250) * 2 ** this.#attempt,
    );
    this.#attempt++;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#open().catch((err: unknown) => {
        this.#o.log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'coinbase user stream: reconnect failed',
        );
        this.#scheduleReconnect();
      });
    }, delay);
    this.#timer.unref?.();
  }
}

const validIso = (ts: string | undefined): string | null =>
  ts && Number.isFinite(Date.parse(ts)) ? ts : null;

function decode(raw: WebSocket.RawData): unknown {
  const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
}
