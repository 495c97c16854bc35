import type { Logger } from '@aegis/shared/logging';
import WebSocket from 'ws';
import type { AlpacaAuthMode } from './rest-client.ts';
import { type AlpacaTradeUpdate, alpacaStreamMessage, alpacaTradeUpdate } from './schemas.ts';

/**
 * The `trade_updates` stream (docs: "WebSocket Streaming"): connect to `…/stream`, authenticate
 * in-band, listen to `trade_updates`, deliver each event. Reconnects on its own with capped
 * exponential backoff; every connection that the backoff timer re-establishes calls `onReconnect`,
 * so the adapter can recover what was missed while it was down. The paper endpoint sends binary
 * frames, the live one text frames: both are decoded as UTF-8 JSON.
 *
 * Authentication messages, as documented:
 * - API key:  `{"action":"auth","key":"…","secret":"…"}`
 * - OAuth:    `{"action":"authenticate","data":{"oauth_token":"…"}}`
 * answered by `{"stream":"authorization","data":{"status":"authorized","action":"authenticate"}}`.
 */
export interface TradeStreamOptions {
  readonly url: string;
  readonly auth: AlpacaAuthMode;
  /**
   * The credential for the next (re)connection, fetched per connection (tokens rotate);
   * `refresh` after the stream refused the last one (an OAuth token is then refreshed once).
   */
  readonly credential: (refresh: boolean) => Promise<{ token: string } | { key: string; secret: string }>;
  readonly log: Logger;
  readonly onUpdate: (u: AlpacaTradeUpdate) => void;
  /** After a reconnection is authorized and listening again (not after the first connect). */
  readonly onReconnect: () => void;
  /** Called when a connection drops (the adapter may start polling). */
  readonly onDisconnect?: () => void;
  /** Backoff bounds for reconnecting. Defaults: 250 ms doubling to 15 s. */
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  /** How long the handshake (open + authorization + listening) may take. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
}

export class TradeStream {
  readonly #o: TradeStreamOptions;
  #ws: WebSocket | null = null;
  #closed = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | null = null;
  #ready: Promise<void> | null = null;
  #listening = false;
  /** The last authorization was refused: the next connection asks for a fresh credential. */
  #refused = false;

  constructor(opts: TradeStreamOptions) {
    this.#o = opts;
  }

  /** True while authorized and listening. */
  get listening(): boolean {
    return this.#listening;
  }

  /**
   * Connects (once); resolves when listening, rejects if this handshake fails (it keeps
   * reconnecting in the background). While a reconnect is pending it rejects at once rather
   * than opening a second socket.
   */
  start(): Promise<void> {
    if (this.#listening) return Promise.resolve();
    if (this.#ready) return this.#ready;
    if (this.#timer || this.#ws) return Promise.reject(new Error('alpaca trade stream: reconnecting'));
    this.#ready = this.#open(false).then(
      () => {
        this.#ready = null;
      },
      (err: unknown) => {
        this.#ready = null;
        this.#scheduleReconnect();
        throw err;
      },
    );
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

  /** `reconnect`: opened by the backoff timer after a drop or a failed attempt. */
  #open(reconnect: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#closed) {
        reject(new Error('alpaca trade stream closed'));
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
        () => fail(new Error('alpaca trade stream: handshake timed out')),
        this.#o.handshakeTimeoutMs ?? 10_000,
      );
      handshake.unref?.();

      ws.on('open', () => {
        void this.#o.credential(this.#refused).then(
          (c) =>
            ws.send(
              JSON.stringify(
                'token' in c
                  ? { action: 'authenticate', data: { oauth_token: c.token } }
                  : { action: 'auth', key: c.key, secret: c.secret },
              ),
            ),
          (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
        );
      });
      ws.on('message', (raw: WebSocket.RawData) => {
        const msg = decode(raw);
        if (msg === null) {
          this.#o.log.warn('alpaca trade stream: a message that is not JSON was ignored');
          return;
        }
        const parsed = alpacaStreamMessage.safeParse(msg);
        if (!parsed.success) {
          this.#o.log.warn('alpaca trade stream: an undocumented message was ignored');
          return;
        }
        const m = parsed.data;
        if (m.stream === 'authorization') {
          if (m.data.status !== 'authorized') {
            this.#refused = true;
            fail(new Error(`alpaca trade stream: ${m.data.status}`));
            return;
          }
          this.#refused = false;
          ws.send(JSON.stringify({ action: 'listen', data: { streams: ['trade_updates'] } }));
        } else if (m.stream === 'listening') {
          if (!m.data.streams.includes('trade_updates')) {
            fail(new Error('alpaca trade stream: trade_updates not granted'));
            return;
          }
          if (settled) return;
          settled = true;
          clearTimeout(handshake);
          this.#listening = true;
          this.#attempt = 0;
          resolve();
          // Anything may have been missed while no socket listened: the adapter catches up.
          if (reconnect) this.#o.onReconnect();
        } else {
          const u = alpacaTradeUpdate.safeParse(m.data);
          if (!u.success) {
            this.#o.log.error(
              { issues: u.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) },
              'alpaca trade stream: a trade update that does not match the documented shape was ignored',
            );
            return;
          }
          this.#o.onUpdate(u.data);
        }
      });
      ws.on('error', (err) => {
        this.#o.log.warn({ err }, 'alpaca trade stream error');
        fail(err);
      });
      ws.on('close', () => {
        const wasListening = this.#listening;
        this.#listening = false;
        if (this.#ws === ws) this.#ws = null;
        fail(new Error('alpaca trade stream closed during the handshake'));
        if (this.#closed) return;
        if (wasListening) this.#o.onDisconnect?.();
        this.#scheduleReconnect();
      });
    });
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer) return;
    const initial = this.#o.reconnectInitialMs ?? 250;
    const max = this.#o.reconnectMaxMs ?? 15_000;
    const delay = Math.min(max, initial * 2 ** this.#attempt);
    this.#attempt++;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#open(true).catch((err: unknown) => {
        this.#o.log.warn({ err }, 'alpaca trade stream: reconnect failed');
        this.#scheduleReconnect();
      });
    }, delay);
    this.#timer.unref?.();
  }
}

function decode(raw: WebSocket.RawData): unknown {
  const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
}
