import { isTerminal } from '@aegis/shared/orders/statuses';
import { type Accessor, createEffect, createSignal, on, onCleanup } from 'solid-js';
import { type RouterOutputs, trpc } from './trpc.ts';

export type LiveOrder = RouterOutputs['orders']['get']['order'];

/**
 * One order kept as it is now: the order a mutation returned, then every change from
 * `orders.updates` (SSE) until it is final. The stream opens first and the order is read again
 * once it is open, so a fill that landed between the mutation's answer and the stream is not
 * missed; an update older than what is shown (by version) never replaces it.
 */
export function createLiveOrder(placed: Accessor<LiveOrder | undefined>): Accessor<LiveOrder | undefined> {
  const [order, setOrder] = createSignal<LiveOrder | undefined>(placed());
  const take = (next: LiveOrder) =>
    setOrder((cur) => (cur && cur.id === next.id && cur.version > next.version ? cur : next));

  createEffect(
    on(placed, (initial) => {
      setOrder(initial);
      if (!initial || isTerminal(initial.status)) return;
      let closed = false;
      const subscription = trpc.orders.updates.subscribe(undefined, {
        onStarted: () => {
          trpc.orders.get
            .query({ id: initial.id })
            .then(({ order: now }) => {
              if (!closed) take(now);
            })
            .catch(() => {
              // The stream still carries every later change; the placed order stays shown.
            });
        },
        onData: (event) => {
          const next = event.data;
          if (next.id !== initial.id) return;
          take(next);
          if (isTerminal(next.status)) subscription.unsubscribe();
        },
      });
      onCleanup(() => {
        closed = true;
        subscription.unsubscribe();
      });
    }),
  );
  return order;
}

/** A decimal string without trailing zeros: `50.000000000000` → `50`, `1.2500` → `1.25`. */
export const trimZeros = (v: string): string => (v.includes('.') ? v.replace(/\.?0+$/, '') : v);

/** "filled 5 @ 101.25", "partially filled 2 of 5", "rejected: insufficient buying power". */
export function orderStatusText(o: LiveOrder, quantityOf: (v: string) => string = trimZeros): string {
  const status = o.status.replaceAll('_', ' ');
  const filled = Number(o.filledQuantity);
  if (o.status === 'filled')
    return `filled ${quantityOf(o.filledQuantity)}${o.avgFillPrice ? ` @ ${trimZeros(o.avgFillPrice)}` : ''}`;
  if (o.status === 'partially_filled')
    return `partially filled ${quantityOf(o.filledQuantity)} of ${quantityOf(o.quantity)}`;
  if ((o.status === 'cancelled' || o.status === 'expired') && filled > 0)
    return `${status} after ${quantityOf(o.filledQuantity)} of ${quantityOf(o.quantity)} filled`;
  if (o.rejectReason) return `${status}: ${[...new Set(o.rejectReason.split(','))].join(', ')}`;
  return status;
}
