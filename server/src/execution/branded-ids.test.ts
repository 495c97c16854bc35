import { asComboId, asOrderId, asTenantId } from '@aegis/shared/ids';
import { describe, expect, it } from 'vitest';
import type { ComboService } from './combo-service.ts';
import type { OrderService } from './service.ts';

/*
 * The ids' brands are checked by the compiler (`npm run typecheck`): each `@ts-expect-error`
 * below is itself an error if the swapped call ever compiles, e.g. after a signature goes back to
 * plain strings. At run time a branded id is the string it was made from.
 */
type Cancel = OrderService['cancel'];
type CancelCombo = ComboService['cancel'];
const actor = { type: 'system' as const, id: 'test' };

describe('branded ids', () => {
  it('an order id and a desk id cannot change places in a cancel', () => {
    const calls = (cancel: Cancel, cancelCombo: CancelCombo) => {
      const desk = asTenantId('6a0c3e4e-0000-4000-8000-000000000001');
      const order = asOrderId('6a0c3e4e-0000-4000-8000-000000000002');
      const combo = asComboId('6a0c3e4e-0000-4000-8000-000000000003');
      void cancel(desk, order, actor);
      // @ts-expect-error the order id where the desk goes, and the desk where the order goes
      void cancel(order, desk, actor);
      // @ts-expect-error a plain string is not yet known to be an order id
      void cancel(desk, 'not-branded', actor);
      // @ts-expect-error a combo id is not an order id
      void cancel(desk, combo, actor);
      void cancelCombo(desk, combo, actor);
    };
    expect(typeof calls).toBe('function');
    expect(asOrderId('x')).toBe('x');
  });
});
