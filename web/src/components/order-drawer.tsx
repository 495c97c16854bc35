import { isWorking } from '@aegis/shared/orders/statuses';
import { createEffect, createResource, createSignal, For, type JSX, on, onCleanup, Show } from 'solid-js';
import { trimZeros } from '../lib/live-order.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { RuleVerdicts } from './rule-verdicts.tsx';
import './order-drawer.css';

type Detail = RouterOutputs['orders']['detail'];

const time = (iso: string) =>
  iso
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z')
    .replace('Z', ' UTC');
const words = (s: string) => s.replaceAll('_', ' ');

/**
 * One order, everything about it, beside the table (a modal dialog): the timeline of its states,
 * fills, the governor's verdict, where it came from (the proposal and signal, who approved), and
 * its audit rows for those who may read the audit log. Re-read on every change of the order while
 * it is open (orders.updates). Escape or the close button closes it and focus returns to the row.
 */
export function OrderDrawer(props: { orderId: string | undefined; onClose: () => void }) {
  let dialog: HTMLDialogElement | undefined;
  const [detail, { refetch }] = createResource(
    () => props.orderId,
    (id) => trpc.orders.detail.query({ id }),
  );

  createEffect(
    on(
      () => props.orderId,
      (id) => {
        if (!dialog) return;
        if (id && !dialog.open) dialog.showModal();
        if (!id && dialog.open) dialog.close();
        if (!id) return;
        const sub = trpc.orders.updates.subscribe(undefined, {
          onData: (event) => {
            if (event.data.id === id) void refetch();
          },
        });
        onCleanup(() => sub.unsubscribe());
      },
    ),
  );

  return (
    <dialog
      ref={dialog}
      class="order-drawer"
      aria-label={detail() ? `Order ${detail()!.order.clientOrderId}` : 'Order'}
      onClose={() => props.onClose()}
    >
      <div class="order-drawer-body">
        <header class="order-drawer-head">
          <h2>Order</h2>
          <button type="button" class="btn btn-sm btn-ghost" onClick={() => dialog?.close()}>
            Close
          </button>
        </header>
        <Show when={detail.error}>
          <div class="alert alert-error" role="alert">
            {errorMessageOf(detail.error)}
          </div>
        </Show>
        <Show when={detail()} fallback={<div class="skeleton" aria-busy="true" />}>
          {(d) => <DetailBody detail={d()} />}
        </Show>
      </div>
    </dialog>
  );
}

function DetailBody(props: { detail: Detail }) {
  const o = () => props.detail.order;
  return (
    <>
      <p class="order-drawer-title">
        <span class={o().side === 'buy' ? 'pos' : 'neg'}>{o().side.toUpperCase()}</span>{' '}
        <span class="mono">{trimZeros(o().quantity)}</span> <span class="mono">{o().symbol}</span>{' '}
        <span class="dim">
          {o().orderType === 'limit' || o().orderType === 'stop_limit'
            ? `@ ${trimZeros(o().limitPrice ?? '')}`
            : 'at market'}{' '}
          · {o().timeInForce}
        </span>{' '}
        <span
          class={`tag ${isWorking(o().status) ? 'tag-warn' : o().status === 'filled' ? 'tag-ok' : 'tag-bad'}`}
        >
          {words(o().status)}
        </span>
      </p>
      <dl class="kv">
        <dt>Origin</dt>
        <dd data-testid="order-origin">{props.detail.originText}</dd>
        <dt>Filled</dt>
        <dd class="mono">
          {trimZeros(o().filledQuantity)} of {trimZeros(o().quantity)}
          {o().avgFillPrice ? ` @ ${trimZeros(o().avgFillPrice!)}` : ''}
        </dd>
        <dt>Account</dt>
        <dd>{o().brokerConnectionId ? `${o().broker} (linked)` : 'paper account'}</dd>
        <dt>Client order id</dt>
        <dd class="mono">{o().clientOrderId}</dd>
        <Show when={o().brokerOrderId}>
          <dt>Broker order id</dt>
          <dd class="mono">{o().brokerOrderId}</dd>
        </Show>
      </dl>

      <section aria-label="Timeline">
        <h3>Timeline</h3>
        <ol class="order-timeline">
          <For each={props.detail.events}>
            {(e) => (
              <li>
                <span class="mono dim">{time(e.ts)}</span>{' '}
                {e.fromStatus
                  ? `${words(e.fromStatus)} → ${words(e.toStatus)}`
                  : `placed: ${words(e.toStatus)}`}
                <Show when={Number(e.filledQuantity) > 0}>
                  <span class="dim"> · filled {trimZeros(e.filledQuantity)}</span>
                </Show>
                <Show when={e.rejectReason}>
                  <span class="neg"> · {e.rejectReason}</span>
                </Show>
              </li>
            )}
          </For>
        </ol>
      </section>

      <section aria-label="Fills">
        <h3>Fills</h3>
        <Show when={props.detail.fills.length > 0} fallback={<p class="dim">No fills.</p>}>
          <ul class="order-fills">
            <For each={props.detail.fills}>
              {(f) => (
                <li class="mono">
                  {time(f.tsMicros)} · {trimZeros(f.quantity)} @ {trimZeros(f.price)} · fee {trimZeros(f.fee)}
                  {f.liquidity ? ` · ${f.liquidity}` : ''}
                </li>
              )}
            </For>
          </ul>
        </Show>
      </section>

      <section aria-label="Risk governor">
        <h3>Risk governor</h3>
        <Show
          when={props.detail.verdicts}
          fallback={<p class="dim">Passed every rule when it was placed.</p>}
        >
          {(v) => <RuleVerdicts verdicts={v()} />}
        </Show>
      </section>

      <Show when={props.detail.proposal}>
        {(p) => (
          <section aria-label="Proposal">
            <h3>Proposal</h3>
            <dl class="kv">
              <dt>Proposed by</dt>
              <dd>
                {p().decider === 'human' ? 'a person' : `the decision agent (${p().decider})`} · confidence{' '}
                {Math.round(p().confidence * 100)}% · {time(p().createdAt)}
              </dd>
              <dt>Decision</dt>
              <dd>
                {words(p().status)}
                {p().approvedBy ? ` by ${p().approvedBy!.name}` : ''}
                {p().decidedAt ? ` · ${time(p().decidedAt!)}` : ''}
              </dd>
              <Show when={props.detail.signal}>
                {(s) => (
                  <>
                    <dt>Signal</dt>
                    <dd>
                      {s().direction} {words(s().pattern)} on {s().symbol}, score {s().score.toFixed(2)} ·{' '}
                      {time(s().ts)}
                    </dd>
                  </>
                )}
              </Show>
            </dl>
          </section>
        )}
      </Show>

      <Show when={props.detail.audit.length > 0}>
        <section aria-label="Audit">
          <h3>Audit</h3>
          <ul class="order-audit">
            <For each={props.detail.audit}>
              {(a) => (
                <li>
                  <span class="mono dim">#{a.seq}</span> {a.action}{' '}
                  <span class={a.outcome === 'ok' ? 'dim' : 'neg'}>({a.outcome})</span> · {a.actor.name} ·{' '}
                  <span class="mono dim">{time(a.ts)}</span>
                </li>
              )}
            </For>
          </ul>
        </section>
      </Show>
    </>
  );
}

/**
 * The drawer opened from a table row (a row click, or Enter on a focused row): `open` remembers
 * the row so that closing the drawer returns focus to it; render `Drawer` once on the page.
 */
export function createOrderDrawer(): {
  open: (orderId: string, event: Event) => void;
  Drawer: () => JSX.Element;
} {
  const [orderId, setOrderId] = createSignal<string>();
  let lastRow: HTMLElement | null = null;
  return {
    open: (id, event) => {
      lastRow = (event.currentTarget as HTMLElement | null) ?? null;
      setOrderId(id);
    },
    Drawer: () => (
      <OrderDrawer
        orderId={orderId()}
        onClose={() => {
          setOrderId(undefined);
          lastRow?.focus();
        }}
      />
    ),
  };
}
