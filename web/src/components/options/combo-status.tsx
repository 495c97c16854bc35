import { createEffect, createSignal, For, on, onCleanup, Show } from 'solid-js';
import { formatDecimal } from '../../lib/decimal-format.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../../lib/trpc.ts';
import { ErrorAlert } from '../error-alert.tsx';
import { RuleVerdicts } from '../rule-verdicts.tsx';

type ComboView = RouterOutputs['orders']['placeCombo'];

const FINAL = new Set(['filled', 'cancelled', 'rejected', 'denied', 'expired']);

/**
 * The placed combo: its status, the net price it filled at, each leg, or the governor's denial.
 * While working it is re-read (orders.combo) until final, and can be cancelled (all legs).
 */
export function ComboStatus(props: { combo: ComboView }) {
  const [latest, setLatest] = createSignal<ComboView>(props.combo);
  const [cancelError, setCancelError] = createSignal<string>();
  createEffect(
    on(
      () => props.combo,
      (combo) => {
        setLatest(combo);
        let stopped = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const poll = async () => {
          if (stopped || FINAL.has(latest().status)) return;
          try {
            const now = await trpc.orders.combo.query({ id: combo.id });
            if (!stopped) setLatest(now);
          } catch {
            // A failed read keeps the last status; the next poll tries again.
          }
          if (!stopped && !FINAL.has(latest().status)) timer = setTimeout(() => void poll(), 1_000);
        };
        timer = setTimeout(() => void poll(), 500);
        onCleanup(() => {
          stopped = true;
          clearTimeout(timer);
        });
      },
    ),
  );
  const cancel = async () => {
    setCancelError(undefined);
    try {
      setLatest(await trpc.orders.cancelCombo.mutate({ comboId: latest().id }));
    } catch (e) {
      setCancelError(errorMessageOf(e));
    }
  };
  const c = latest;
  const status = () => latest().status;
  const bad = () => status() === 'denied' || status() === 'rejected';
  return (
    <section
      class={`alert ${bad() ? 'alert-error' : 'alert-info'} combo-status`}
      aria-label="Combo order"
      data-combo-id={c().id}
      data-status={status()}
    >
      <div>
        Combo <b data-field="combo-status">{status().replaceAll('_', ' ')}</b>
        <Show when={c().avgNetPrice}>
          {' '}
          at{' '}
          <span class="mono" data-field="avg-net-price" data-value={c().avgNetPrice ?? ''}>
            {formatDecimal(c().avgNetPrice, 4)}
          </span>{' '}
          net
        </Show>
        <Show when={c().maxLoss}>
          <span class="dim"> · max loss {formatDecimal(c().maxLoss, 2)}</span>
        </Show>
        <ul class="combo-legs">
          <For each={c().legs}>
            {(leg) => (
              <li data-symbol={leg.symbol} data-order-id={leg.id} data-status={leg.status}>
                <span class={leg.side === 'buy' ? 'pos' : 'neg'}>{leg.side}</span>{' '}
                <span class="mono">{leg.symbol}</span>{' '}
                <span class="dim">{leg.status.replaceAll('_', ' ')}</span>
              </li>
            )}
          </For>
        </ul>
        <Show when={c().denial}>{(v) => <RuleVerdicts verdicts={v()} />}</Show>
        <Show when={!FINAL.has(status())}>
          <button type="button" class="btn btn-sm combo-cancel" onClick={() => void cancel()}>
            Cancel combo
          </button>
        </Show>
        <ErrorAlert message={cancelError()} />
      </div>
    </section>
  );
}
