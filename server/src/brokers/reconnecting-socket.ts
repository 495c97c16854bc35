import type { Logger } from '@aegis/shared/logging';
import WebSocket from 'ws';

/** The handshake of one connection: the protocol ends it, one way or the other. */
export interface Handshake {
  /** Authorized and listening: the connection is up. */
  ready(): void;
  fail(err: Error): void;
}

/** What a stream's owner sets of its connection's life (shared by the streams built on this). */
export interface SocketLifecycle {
  /** After a connection the backoff timer re-established is up again (not after the first). */
  readonly onReconnect: () => void;
  /** Called when a connection that was up drops (the adapter may start polling). */
  readonly onDisconnect?: () => void;
  /** Backoff bounds for reconnecting. Defaults: 250 ms doubling to 15 s. */
  readonly reconnectInitialMs?: number;
  readonly reconnectMaxMs?: number;
  /** How long the handshake (open + authorization + subscription) may take. Default 10 s. */
  readonly handshakeTimeoutMs?: number;
}

export interface ReconnectingSocketOptions extends SocketLifecycle {
  /** Names the stream in errors and logs (`alpaca trade stream`). */
  readonly name: string;
  readonly url: string;
  readonly log: Logger;
  /** What is sent once the socket opens (authentication, subscription); a throw fails the handshake. */
  readonly hello: (send: (msg: unknown) => void) => Promise<void>;
  /** One message, decoded from UTF-8 JSON (null when it is not JSON). */
  readonly message: (msg: unknown, handshake: Handshake, send: (msg: unknown) => void) => void;
}

/**
 * A broker's order-update WebSocket, kept up: connect, let the protocol authenticate and
 * subscribe within a handshake timeout, deliver its messages, and reconnect on its own with
 * capped exponential backoff after a drop or a failed attempt. Every connection the backoff
 * timer re-establishes calls `onReconnect`, so the adapter can recover what was missed while it
 * was down. Text and binary frames are both decoded as UTF-8 JSON.
 */
export class ReconnectingSocket {
  readonly #o: ReconnectingSocketOptions;
  #ws: WebSocket | null = null;
  #closed = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | null = null;
  #ready: Promise<void> | null = null;
  #listening = false;

  constructor(opts: ReconnectingSocketOptions) {
    this.#o = opts;
  }

  /** True while the connection is up (authorized and listening). */
  get listening(): boolean {
    return this.#listening;
  }

  /**
   * Connects (once); resolves when up, rejects if this handshake fails (it keeps reconnecting in
   * the background). While a reconnect is pending it rejects at once rather than opening a
   * second socket.
   */
  start(): Promise<void> {
    if (this.#listening) return Promise.resolve();
    if (this.#ready) return this.#ready;
    if (this.#timer || this.#ws) return Promise.reject(new Error(`${this.#o.name}: reconnecting`));
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
    const name = this.#o.name;
    return new Promise<void>((resolve, reject) => {
      if (this.#closed) {
        reject(new Error(`${name} closed`));
        return;
      }
      const ws = new WebSocket(this.#o.url);
      this.#ws = ws;
      const send = (msg: unknown) => ws.send(JSON.stringify(msg));
      let settled = false;
      const handshake: Handshake = {
        fail: (err) => {
          if (settled) return;
          settled = true;
          clearTimeout(timeout);
          ws.terminate();
          reject(err);
        },
        ready: () => {
          if (settled) return;
          settled = true;
          clearTimeout(timeout);
          this.#listening = true;
          this.#attempt = 0;
          resolve();
          // Anything may have been missed while no socket listened: the adapter catches up.
          if (reconnect) this.#o.onReconnect();
        },
      };
      const timeout = setTimeout(
        () => handshake.fail(new Error(`${name}: handshake timed out`)),
        this.#o.handshakeTimeoutMs ?? 10_000,
      );
      timeout.unref?.();

      ws.on('open', () => {
        void this.#o
          .hello(send)
          .catch((err: unknown) => handshake.fail(err instanceof Error ? err : new Error(String(err))));
      });
      ws.on('message', (raw: WebSocket.RawData) => this.#o.message(decode(raw), handshake, send));
      ws.on('error', (err) => {
        this.#o.log.warn({ err: err.message }, `${name} error`);
        handshake.fail(err);
      });
      ws.on('close', () => {
        const wasListening = this.#listening;
        this.#listening = false;
        if (this.#ws === ws) this.#ws = null;
        handshake.fail(new Error(`${name} closed during the handshake`));
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
        this.#o.log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          `${this.#o.name}: reconnect failed`,
        );
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
