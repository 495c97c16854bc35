import { type Dec, dec, decStr, ZERO } from '@aegis/shared/accounting/decimal';
import type { BrokerAccount, BrokerPosition } from '../types.ts';
import type { CoinbaseRestClient } from './rest-client.ts';
import { type CoinbaseAccount, listAccountsResponse, portfolioBreakdownResponse } from './schemas.ts';

/**
 * Balances and spot positions of one Coinbase portfolio:
 * - List Accounts (paged): one account per currency, `available_balance` and `hold`.
 * - Get Portfolio Breakdown, when the connection's account reference is a portfolio uuid: the
 *   portfolio's total in USD (equity) and each asset's `average_entry_price` (average cost).
 * A spot account's positions are its non-zero balances other than USD, as `<CURRENCY>-USD`.
 */
export const CASH_CURRENCY = 'USD';
const PAGE = 250;

export class CoinbaseAccountReader {
  readonly #rest: CoinbaseRestClient;
  readonly #accountRef: string;

  constructor(rest: CoinbaseRestClient, accountRef: string) {
    this.#rest = rest;
    this.#accountRef = accountRef;
  }

  async account(): Promise<BrokerAccount> {
    const [accounts, breakdown] = await Promise.all([
      this.#accounts('getAccount'),
      this.#breakdown('getAccount'),
    ]);
    const usd = accounts.filter((a) => a.currency === CASH_CURRENCY);
    const available = usd.reduce((s, a) => s.plus(dec(a.available_balance.value)), ZERO);
    const cash = usd.reduce(
      (s, a) => s.plus(dec(a.available_balance.value)).plus(dec(a.hold?.value ?? '0')),
      ZERO,
    );
    return {
      accountId: this.#accountRef || usd[0]?.retail_portfolio_id || usd[0]?.uuid || 'coinbase',
      currency: CASH_CURRENCY,
      cash: decStr(cash),
      buyingPower: decStr(available),
      // Without a portfolio breakdown there is no valuation of the crypto balances here.
      equity: breakdown?.total ?? decStr(cash),
      brokerStatus: null,
    };
  }

  async positions(): Promise<BrokerPosition[]> {
    const [accounts, entry] = await Promise.all([
      this.#accounts('listPositions'),
      this.#breakdown('listPositions').then((b) => b?.avgEntry ?? new Map<string, string>()),
    ]);
    const out: BrokerPosition[] = [];
    for (const [currency, total] of balances(accounts)) {
      if (currency === CASH_CURRENCY || total.isZero()) continue;
      out.push({
        symbol: `${currency}-${CASH_CURRENCY}`,
        quantity: decStr(total),
        // Coinbase keeps no cost basis on accounts: "0" when there is no breakdown to read it from.
        avgCost: entry.get(currency) ?? '0',
      });
    }
    return out.sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  async #accounts(operation: string): Promise<CoinbaseAccount[]> {
    const out: CoinbaseAccount[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#rest.request({
        operation,
        kind: 'read',
        method: 'GET',
        path: '/api/v3/brokerage/accounts',
        // Not `retail_portfolio_id` (deprecated, legacy keys only): a CDP key lists the accounts
        // of the portfolio it is permissioned for.
        query: { limit: String(PAGE), cursor },
        schema: listAccountsResponse,
      });
      out.push(...page.accounts);
      cursor = page.has_next && page.cursor ? page.cursor : undefined;
    } while (cursor);
    return out;
  }

  /** The portfolio breakdown, when the connection names a portfolio uuid. */
  async #breakdown(
    operation: string,
  ): Promise<{ total: string | null; avgEntry: Map<string, string> } | null> {
    const id = this.#portfolioId();
    if (!id) return null;
    const res = await this.#rest.request({
      operation,
      kind: 'read',
      method: 'GET',
      path: `/api/v3/brokerage/portfolios/${encodeURIComponent(id)}`,
      query: { currency: CASH_CURRENCY },
      schema: portfolioBreakdownResponse,
    });
    const b = res.breakdown;
    const avgEntry = new Map<string, string>();
    for (const p of b.spot_positions)
      if (!p.is_cash && p.average_entry_price)
        avgEntry.set(p.asset, decStr(dec(p.average_entry_price.value)));
    const total = b.portfolio_balances?.total_balance;
    return { total: total && total.currency === CASH_CURRENCY ? decStr(dec(total.value)) : null, avgEntry };
  }

  #portfolioId(): string | null {
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(this.#accountRef)
      ? this.#accountRef
      : null;
  }
}

/** Total (available + hold) per currency. */
function balances(accounts: readonly CoinbaseAccount[]): Map<string, Dec> {
  const out = new Map<string, Dec>();
  for (const a of accounts) {
    const total = dec(a.available_balance.value).plus(dec(a.hold?.value ?? '0'));
    out.set(a.currency, (out.get(a.currency) ?? ZERO).plus(total));
  }
  return out;
}
