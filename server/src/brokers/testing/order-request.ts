import type { BracketRequest } from '../types.ts';

/**
 * Test support for the broker tests, unit and integration alike: a bracket on an entry order,
 * its legs named after the entry (`<entry>S` the stop, `<entry>T` the target) in one OCO group
 * (`ocoGroup`, the entry's id unless named).
 */
export function bracketOn(
  entryId: string,
  prices: { stop: string; target: string },
  ocoGroup = entryId,
): BracketRequest {
  return {
    ocoGroup,
    legs: [
      { clientOrderId: `${entryId}S`, role: 'stop', price: prices.stop },
      { clientOrderId: `${entryId}T`, role: 'target', price: prices.target },
    ],
  };
}
