import { randomUUID } from 'node:crypto';
import type { ExecutionOptions } from '../../../src/execution/types.ts';
import type { Client } from '../test-server.ts';

/**
 * Execution through a test server (test-server.ts): the options its runtime gets, and the order a
 * test places when only a few fields matter.
 */

/**
 * Execution options for a test server: equity snapshots and reconciliation kept out of the way
 * (hourly) unless given, and with `paper` a paper broker that answers at once, without fees or
 * slippage unless given.
 */
export function testExecution(
  o: Partial<Omit<ExecutionOptions, 'paper'>> & { paper?: Partial<ExecutionOptions['paper']> } = {},
): Partial<ExecutionOptions> {
  const { paper, ...rest } = o;
  return {
    equityIntervalMs: 3_600_000,
    reconcileIntervalMs: 3_600_000,
    ...rest,
    ...(paper && {
      paper: {
        seed: 1,
        latencyMs: 0,
        latencyJitterMs: 0,
        feeBps: '0',
        minFee: '0',
        slippageBps: '0',
        ...paper,
      },
    }),
  };
}

/** Places an order through `client`: a market buy of 0.1 BTC-USD unless `order` says otherwise. */
export function placeOrder(
  client: Client,
  order: Record<string, unknown> = {},
  idempotencyKey: string = randomUUID(),
) {
  return client.orders.place.mutate({
    idempotencyKey,
    order: {
      symbol: 'BTC-USD',
      side: 'buy',
      orderType: 'market',
      timeInForce: 'day',
      quantity: '0.1',
      ...order,
    } as never,
  });
}
