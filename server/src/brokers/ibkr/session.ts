import type { Logger } from '@aegis/shared/logging';
import { BrokerError, BrokerErrorCode } from '../types.ts';
import { type GatewayClient, reauthRequired } from './gateway-client.ts';
import {
  type AuthStatus,
  accountsResponse,
  authStatus,
  portfolioAccounts,
  tickleResponse,
} from './schemas.ts';

/**
 * The gateway's brokerage session, as the adapter sees it. A person logs in at the gateway's web
 * page (IBKR allows no unattended login); the adapter keeps that session alive (POST /tickle on a
 * timer: the gateway drops an idle session after a few minutes) and notices when it lapses
 * (a tickle or auth status saying `authenticated: false`, `competing: true`, or any 401).
 *
 * While lapsed, every adapter call fails fast with BROKER_REAUTH_REQUIRED (not retryable: only a
 * person can fix it) after one POST /iserver/auth/status to see whether the person already has;
 * the tickle timer probes too. When the session is back, /iserver/accounts and /portfolio/accounts
 * are read again (the gateway requires them before order and portfolio calls in a new session) and the reconnect listeners run so
 * the dispatcher reconciles what happened meanwhile.
 */
export interface SessionOptions {
  /**
   * The account the connection trades; null when the link named none yet (`pending:<id>`): the
   * gateway's selected account is used and reported by `getAccount`, so the link settles on it.
   */
  readonly accountId: string | null;
  readonly tickleIntervalMs: number;
  readonly log: Logger;
}

export class GatewaySession {
  readonly #gw: GatewayClient;
  readonly #o: SessionOptions;
  readonly #reconnectListeners = new Set<() => void>();
  #lapsed: string | null = null;
  #accountsRead = false;
  #everUp = false;
  #timer: NodeJS.Timeout | null = null;
  /** One probe at a time: concurrent calls during a lapse share it. */
  #probe: Promise<void> | null = null;
  #accountsReading: Promise<void> | null = null;
  #account: string | null;

  constructor(gw: GatewayClient, opts: SessionOptions) {
    this.#gw = gw;
    this.#o = opts;
    this.#account = opts.accountId;
  }

  /** The account traded; known once `ensure` has succeeded. */
  get accountId(): string {
    if (this.#account === null) throw new Error('ibkr: account not resolved before ensure()');
    return this.#account;
  }

  get lapsed(): boolean {
    return this.#lapsed !== null;
  }

  /** The gateway said the session is gone (a 401, or a status answer). */
  markLapsed(reason: string): void {
    if (this.#lapsed === null) this.#o.log.warn({ reason }, 'ibkr gateway session lapsed');
    this.#lapsed = reason;
    this.#accountsRead = false;
  }

  /** The gateway asked for /iserver/accounts again (a new brokerage session). */
  accountsStale(): void {
    this.#accountsRead = false;
  }

  /**
   * Before every call: a lapsed session is probed once (BROKER_REAUTH_REQUIRED if still down);
   * a session that has not read its accounts yet reads them.
   */
  async ensure(operation: string): Promise<void> {
    if (this.#lapsed !== null || !this.#everUp) await this.#probeOnce(operation);
    if (!this.#accountsRead) await this.#readAccountsOnce(operation);
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#tickle(), this.#o.tickleIntervalMs);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#reconnectListeners.clear();
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  async #tickle(): Promise<void> {
    try {
      if (this.#lapsed !== null) {
        await this.#probeOnce('tickle');
        return;
      }
      const t = await this.#gw.request({
        operation: 'tickle',
        kind: 'read',
        method: 'POST',
        path: '/tickle',
        schema: tickleResponse,
      });
      const s = t.iserver?.authStatus;
      if (s && !isUp(s)) this.markLapsed(describe(s));
    } catch (err) {
      // A lapse is recorded by the client (401) or the probe; anything else is the next call's
      // problem (the policy counts it against the breaker there).
      if (!(err instanceof BrokerError) || err.brokerCode !== BrokerErrorCode.REAUTH_REQUIRED)
        this.#o.log.debug({ err }, 'ibkr tickle failed');
    }
  }

  #probeOnce(operation: string): Promise<void> {
    this.#probe ??= this.#check(operation).finally(() => {
      this.#probe = null;
    });
    return this.#probe;
  }

  async #check(operation: string): Promise<void> {
    const s = await this.#gw.request({
      operation,
      kind: 'read',
      method: 'POST',
      path: '/iserver/auth/status',
      schema: authStatus,
    });
    if (!isUp(s)) {
      this.markLapsed(describe(s));
      throw reauthRequired(operation, {
        authenticated: s.authenticated,
        connected: s.connected ?? null,
        competing: s.competing ?? null,
      });
    }
    // The accounts first: the session counts as back only once order calls may be made.
    if (!this.#accountsRead) await this.#readAccountsOnce(operation);
    const wasLapsed = this.#lapsed !== null;
    this.#lapsed = null;
    this.#everUp = true;
    if (wasLapsed) {
      this.#o.log.info('ibkr gateway session re-authenticated');
      for (const l of this.#reconnectListeners) {
        try {
          l();
        } catch (err) {
          this.#o.log.error({ err }, 'ibkr reconnect listener failed');
        }
      }
    }
  }

  #readAccountsOnce(operation: string): Promise<void> {
    this.#accountsReading ??= this.#readAccounts(operation).finally(() => {
      this.#accountsReading = null;
    });
    return this.#accountsReading;
  }

  async #readAccounts(operation: string): Promise<void> {
    const a = await this.#gw.request({
      operation,
      kind: 'read',
      method: 'GET',
      path: '/iserver/accounts',
      schema: accountsResponse,
    });
    const wanted =
      this.#o.accountId ?? a.selectedAccount ?? (a.accounts.length === 1 ? a.accounts[0] : undefined);
    if (!wanted || !a.accounts.includes(wanted))
      throw new BrokerError(
        BrokerErrorCode.AUTH,
        wanted
          ? `ibkr: the gateway's user cannot trade account ${wanted}`
          : "ibkr: the gateway's user has several accounts and none selected: link one by its id",
        { operation, broker: 'ibkr', retryable: false, context: { accounts: a.accounts.length } },
      );
    this.#account = wanted;
    // IBKR: /portfolio/accounts must be read before the /portfolio/{accountId}/… endpoints.
    await this.#gw.request({
      operation,
      kind: 'read',
      method: 'GET',
      path: '/portfolio/accounts',
      schema: portfolioAccounts,
    });
    this.#accountsRead = true;
  }
}

function isUp(s: AuthStatus): boolean {
  return s.authenticated && s.connected !== false && s.competing !== true;
}

function describe(s: AuthStatus): string {
  return `authenticated=${s.authenticated} connected=${s.connected ?? '?'} competing=${s.competing ?? '?'}`;
}
