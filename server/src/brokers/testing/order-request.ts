import { asOrderId } from '@aegis/shared/ids';
import type { BracketRequest } from '../types.ts';

/**
 * Test support for the broker tests, unit and integration alike: a bracket on an entry order,
 * its legs named after the entry (`<entry>S` the stop, `<entry>T` the target) in one OCO group
 * (`ocoGroup`, standing in for the entry's order id: the entry's client id unless named).
 */
export function bracketOn(
  entryId: string,
  prices: { stop: string; target: string },
  ocoGroup = entryId,
): BracketRequest {
  return {
    ocoGroup: asOrderId(ocoGroup),
    legs: [
      { clientOrderId: `${entryId}S`, role: 'stop', price: prices.stop },
      { clientOrderId: `${entryId}T`, role: 'target', price: prices.target },
    ],
  };
}
