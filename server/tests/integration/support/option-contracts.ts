import type { PlaceComboInput } from '@aegis/shared/schemas/combo';
import type { Sql } from 'postgres';

/**
 * A test option chain in the instrument registry, written as the owner role: an underlying and
 * its contracts on the 24x7 test venue TESTOPT (multiplier 100, one expiry, the delta in
 * `greeks`), as the combo tests trade them.
 */
export interface TestOption {
  readonly symbol: string;
  readonly right: 'call' | 'put';
  readonly strike: string;
  readonly delta: number;
}

export async function insertTestOptionChain(
  sql: Sql,
  underlying: string,
  options: readonly TestOption[],
  expiry = '2026-12-18',
): Promise<void> {
  const [u] = await sql`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar)
    values (${underlying}, 'TESTOPT', 'equity', '0.01', '1', '24x7') returning id`;
  for (const o of options)
    await sql`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar, multiplier,
                                       underlying_id, option_right, strike, expiry, greeks)
      values (${o.symbol}, 'TESTOPT', 'option', '0.01', '1', '24x7', '100', ${u!.id}, ${o.right}, ${o.strike},
              ${expiry}, ${sql.json({ delta: o.delta })})`;
}

/** A call vertical: buy `long`, sell `short`, 2 of it for a net 2.9 limit, for the day, unless `over` says otherwise. */
export const verticalSpread = (
  long: string,
  short: string,
  over: Partial<PlaceComboInput> = {},
): PlaceComboInput => ({
  strategy: 'vertical',
  legs: [
    { symbol: long, side: 'buy', ratio: 1 },
    { symbol: short, side: 'sell', ratio: 1 },
  ],
  quantity: '2',
  orderType: 'limit',
  netLimitPrice: '2.9',
  timeInForce: 'day',
  ...over,
});
