import { isTerminal } from '@aegis/shared/orders/statuses';
import { type Accessor, createEffect, createSignal, on, onCleanup } from 'solid-js';
import { type RouterOutputs, trpc } from './trpc.ts';

export type LiveOrder = RouterOutputs['orders']['get']['order'];

/**
 * One order kept as it is now: the order a mutation returned, then read again (`orders.get`) every
 * second until it is final, at most 15 minutes. A poll rather than one more `orders.updates`
 * stream: a browser holds six connections per host and every open stream keeps one, and a page
 * with a chart, a book, quotes, the halt and the alerts bell already holds five. An answer older
 * than what is shown (by version) never replaces it.
 */
export function createLiveOrder(placed: Accessor<LiveOrder | undefined>): Accessor<LiveOrder | undefined> {
  const [order, setOrder] = createSignal<LiveOrder | undefined>(placed());
  const take = (next: LiveOrder) =>
    setOrder((cur) => (cur && cur.id === next.id && cur.version > next.version ? cur : next));

  createEffect(
    on(placed, (initial) => {
      setOrder(initial);
      if (!initial || isTerminal(initial.status)) return;
      let stopped = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const until = Date.now() + 15 * 60_000;
      const poll = () => {
        trpc.orders.get
          .query({ id: initial.id })
          .then(({ order: now }) => {
            if (stopped) return;
            take(now);
            if (!isTerminal(now.status) && Date.now() < until) timer = setTimeout(poll, 1_000);
          })
          .catch(() => {
            // A failed read (server restarting): try again; the order shown stays as it was.
            if (!stopped && Date.now() < until) timer = setTimeout(poll, 2_000);
          });
      };
      timer = setTimeout(poll, 250);
      onCleanup(() => {
        stopped = true;
        clearTimeout(timer);
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
