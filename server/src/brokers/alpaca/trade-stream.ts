import type { Logger } from '@aegis/shared/logging';
import { issueLines } from '../http-answers.ts';
import { ReconnectingSocket, type SocketLifecycle } from '../reconnecting-socket.ts';
import type { AlpacaAuthMode } from './rest-client.ts';
import { type AlpacaTradeUpdate, alpacaStreamMessage, alpacaTradeUpdate } from './schemas.ts';

/**
 * The `trade_updates` stream (docs: "WebSocket Streaming"): connect to `…/stream`, authenticate
 * in-band, listen to `trade_updates`, deliver each event. The connection is kept up by
 * ReconnectingSocket (backoff, `onReconnect` after a re-established connection). The paper
 * endpoint sends binary frames, the live one text frames: both are decoded as UTF-8 JSON.
 *
 * Authentication messages, as documented:
 * - API key:  `{"action":"auth","key":"…","secret":"…"}`
 * - OAuth:    `{"action":"authenticate","data":{"oauth_token":"…"}}`
 * answered by `{"stream":"authorization","data":{"status":"authorized","action":"authenticate"}}`.
 */
/** The connection's life (reconnects, backoff, handshake timeout) is a SocketLifecycle. */
export interface TradeStreamOptions extends SocketLifecycle {
  readonly url: string;
  readonly auth: AlpacaAuthMode;
  /**
   * The credential for the next (re)connection, fetched per connection (tokens rotate);
   * `refresh` after the stream refused the last one (an OAuth token is then refreshed once).
   */
  readonly credential: (refresh: boolean) => Promise<{ token: string } | { key: string; secret: string }>;
  readonly log: Logger;
  readonly onUpdate: (u: AlpacaTradeUpdate) => void;
}

/** A ReconnectingSocket speaking this protocol: `listening` is true while authorized and listening. */
export class TradeStream extends ReconnectingSocket {
  constructor(o: TradeStreamOptions) {
    /** The last authorization was refused: the next connection asks for a fresh credential. */
    let refused = false;
    super({
      ...o,
      name: 'alpaca trade stream',
      hello: async (send) => {
        const c = await o.credential(refused);
        send(
          'token' in c
            ? { action: 'authenticate', data: { oauth_token: c.token } }
            : { action: 'auth', key: c.key, secret: c.secret },
        );
      },
      message: (msg, handshake, send) => {
        if (msg === null) {
          o.log.warn('alpaca trade stream: a message that is not JSON was ignored');
          return;
        }
        const parsed = alpacaStreamMessage.safeParse(msg);
        if (!parsed.success) {
          o.log.warn('alpaca trade stream: an undocumented message was ignored');
          return;
        }
        const m = parsed.data;
        if (m.stream === 'authorization') {
          if (m.data.status !== 'authorized') {
            refused = true;
            handshake.fail(new Error(`alpaca trade stream: ${m.data.status}`));
            return;
          }
          refused = false;
          send({ action: 'listen', data: { streams: ['trade_updates'] } });
        } else if (m.stream === 'listening') {
          if (!m.data.streams.includes('trade_updates')) {
            handshake.fail(new Error('alpaca trade stream: trade_updates not granted'));
            return;
          }
          handshake.ready();
        } else {
          const u = alpacaTradeUpdate.safeParse(m.data);
          if (!u.success) {
            o.log.error(
              { issues: issueLines(u.error) },
              'alpaca trade stream: a trade update that does not match the documented shape was ignored',
            );
            return;
          }
          o.onUpdate(u.data);
        }
      },
    });
  }
}
