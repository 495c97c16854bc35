import { WORKING_STATUSES } from '@aegis/shared/orders/statuses';
import { Title } from '@solidjs/meta';
import { createSignal, For, Show } from 'solid-js';
import { ErrorAlert } from '../../components/error-alert.tsx';
import { OrderTicket } from '../../components/order-ticket.tsx';
import { EmptyState, Panel, QueryView } from '../../components/panel.tsx';
import { groupBrackets } from '../../lib/bracket-rows.ts';
import { formatDecimal, utcTime } from '../../lib/decimal-format.ts';
import { createQuery } from '../../lib/query.ts';
import { useSession } from '../../lib/session.tsx';
import { errorMessageOf, type RouterOutputs, trpc } from '../../lib/trpc.ts';

type Order = RouterOutputs['orders']['list'][number];

/** From the state machine's one list (an `unknown` order may be live at the broker: it can be cancelled). */
const WORKING: ReadonlySet<string> = new Set(WORKING_STATUSES);

/** Why an order did not go through: the broker's reason, or the governor's failed rules. */
function reasonOf(order: Order): string {
  if (order.rejectReason) return [...new Set(order.rejectReason.split(','))].join(', ');
  const failed = order.denial?.filter((v) => !v.passed).map((v) => v.rule) ?? [];
  return failed.length > 0 ? failed.join(', ') : '—';
}

function statusTone(order: Order): string {
  if (order.status === 'filled') return 'tag-ok';
  if (order.status === 'rejected' || order.status === 'denied') return 'tag-bad';
  if (WORKING.has(order.status)) return 'tag-warn';
  return '';
}

export default function OrdersPage() {
  const session = useSession();
  const orders = createQuery(() => trpc.orders.list.query({ status: 'all', limit: 200 }), { pollMs: 5_000 });
  const canTrade = () => ['admin', 'trader'].includes(session.me()?.activeDesk?.role ?? '');
  const [cancelError, setCancelError] = createSignal<string>();
  const cancel = async (order: Order) => {
    setCancelError(undefined);
    try {
      await trpc.orders.cancel.mutate({ orderId: order.id });
    } catch (e) {
      setCancelError(errorMessageOf(e));
    }
    await orders.refetch();
  };
  return (
    <>
      <Title>Orders · Aegis</Title>
      <div class="page-header">
        <h1>Orders</h1>
        <span class="page-sub">Working and completed orders, newest first</span>
      </div>
      <div class="orders-layout">
        <div>
          <ErrorAlert message={cancelError()} style={{ 'margin-bottom': '10px' }} />
          <Panel title="Orders" meta="Latest 200 · refreshes every 5 s" bodyClass="h-audit" flush>
            <QueryView query={orders} errorTitle="Could not load orders">
              {(list) => (
                <Show when={list.length > 0} fallback={<EmptyState title="No orders on this desk yet" />}>
                  <div class="scroll">
                    <table class="table">
                      <caption class="visually-hidden">Orders, newest first</caption>
                      <thead>
                        <tr>
                          <th scope="col">Created (UTC)</th>
                          <th scope="col">Symbol</th>
                          <th scope="col">Side</th>
                          <th scope="col">Type</th>
                          <th scope="col" class="num">
                            Qty
                          </th>
                          <th scope="col" class="num">
                            Limit / stop
                          </th>
                          <th scope="col" class="num">
                            Filled
                          </th>
                          <th scope="col" class="num">
                            Avg price
                          </th>
                          <th scope="col">Status</th>
                          <th scope="col">Account</th>
                          <th scope="col">Origin</th>
                          <th scope="col">Reason</th>
                          <th scope="col">
                            <span class="visually-hidden">Actions</span>
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        <For each={groupBrackets(list)}>
                          {(o) => (
                            <tr>
                              <td class="mono">{utcTime(o.createdAt)}</td>
                              <td class="mono">{o.symbol}</td>
                              <td class={o.side === 'buy' ? 'pos' : 'neg'}>{o.side}</td>
                              <td>
                                <Show when={o.bracketRole}>
                                  <span
                                    class="dim"
                                    title="Bracket leg of the entry above (one cancels the other)"
                                  >
                                    ↳ {o.bracketRole} ·{' '}
                                  </span>
                                </Show>
                                {o.orderType} · {o.timeInForce}
                              </td>
                              <td
                                class="num"
                                title={o.bracketRole ? 'Sized to what the entry has filled' : undefined}
                              >
                                {formatDecimal(o.quantity, 4)}
                              </td>
                              <td class="num">{formatDecimal(o.limitPrice ?? o.stopPrice, 4)}</td>
                              <td class="num">{formatDecimal(o.filledQuantity, 4)}</td>
                              <td class="num">{formatDecimal(o.avgFillPrice, 4)}</td>
                              <td>
                                <span class={`tag ${statusTone(o)}`}>{o.status.replaceAll('_', ' ')}</span>
                              </td>
                              <td
                                class="dim"
                                title={
                                  o.brokerConnectionId ? `connection ${o.brokerConnectionId}` : undefined
                                }
                              >
                                {o.brokerConnectionId ? o.broker : 'paper'}
                              </td>
                              <td class="dim">{o.origin}</td>
                              <td class="dim" title={o.rejectReason ?? undefined}>
                                {reasonOf(o)}
                              </td>
                              <td class="actions">
                                <Show
                                  when={canTrade() && WORKING.has(o.status) && o.status !== 'pending_cancel'}
                                >
                                  <button
                                    type="button"
                                    class="btn btn-sm"
                                    aria-label={`Cancel order ${o.clientOrderId}`}
                                    onClick={() => void cancel(o)}
                                  >
                                    Cancel
                                  </button>
                                </Show>
                              </td>
                            </tr>
                          )}
                        </For>
                      </tbody>
                    </table>
                  </div>
                </Show>
              )}
            </QueryView>
          </Panel>
        </div>
        <Show when={canTrade()}>
          <Panel title="Order ticket" meta="Checked by the risk governor">
            <OrderTicket onPlaced={() => void orders.refetch()} />
          </Panel>
        </Show>
      </div>
    </>
  );
}
