import type { Actor } from '../../../src/execution/types.ts';
import { createExecutionFixture, type ExecutionFixture } from '../execution-fixture.ts';
import { insertTestOptionChain, type TestOption } from './option-contracts.ts';

/**
 * The desk the combo tests trade on: an execution fixture with a test option chain on
 * `underlying` (the 100 and 105 calls, deltas 0.6 and 0.4, and any `more` contracts), its user
 * as the actor.
 */
export async function createOptionDesk(
  underlying: string,
  calls: { c100: string; c105: string },
  more: readonly TestOption[] = [],
): Promise<{ fx: ExecutionFixture; actor: Actor }> {
  const fx = await createExecutionFixture();
  await insertTestOptionChain(fx.owner, underlying, [
    { symbol: calls.c100, right: 'call', strike: '100', delta: 0.6 },
    { symbol: calls.c105, right: 'call', strike: '105', delta: 0.4 },
    ...more,
  ]);
  return { fx, actor: { type: 'user', id: fx.userId } };
}

/**
 * Quotes the underlying at 100 and the calls so that the 100/105 call vertical costs a 3.00 debit
 * at the touches (buy 5.00, sell 2.00).
 */
export function quoteCallVertical(
  fx: ExecutionFixture,
  underlying: string,
  calls: { c100: string; c105: string },
): void {
  fx.quote(underlying, '99.99', '100.01', '1000');
  fx.quote(calls.c100, '4.98', '5.00');
  fx.quote(calls.c105, '2.00', '2.01');
}

/** The desk row the combo tests start from: room for option notionals, a wide spread allowed. */
export const COMBO_DESK_LIMITS = { max_order_notional: '1000000', max_spread_bps: 500 } as const;
