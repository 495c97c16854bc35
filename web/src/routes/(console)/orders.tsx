import { WORKING_STATUSES } from '@aegis/shared/orders/statuses';
import { createSignal, Show } from 'solid-js';
import { type Column, DataTable } from '../../components/data-table/data-table.tsx';
import { priceColumn } from '../../components/data-table/price-column.ts';
import { sideColumn } from '../../components/data-table/side-column.ts';
import { ErrorAlert } from '../../components/error-alert.tsx';
import { createOrderDrawer } from '../../components/order-drawer.tsx';
import { OrderTicket } from '../../components/order-ticket.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { Panel, QueryView } from '../../components/panel.tsx';
import { groupBrackets } from '../../lib/bracket-rows.ts';
import { utcTime } from '../../lib/decimal-format.ts';
import { formatQuantity } from '../../lib/instrument-sizes.ts';
import { createQuery } from '../../lib/query.ts';
import { useSession } from '../../lib/session.tsx';
import { errorMessageOf, type RouterOutputs, trpc } from '../../lib/trpc.ts';

type Order = RouterOutputs['orders']['list'][number];

/** From the state machine's one list (an `unknown` order may be live at the broker: it can be cancelled). */
const WORKING: ReadonlySet<string> = new Set(WORKING_STATUSES);

/** Why an order did not go through: the broker's reason, or the governor's failed rules. */
function reasonOf(order: Order): string {
  // Repeated reasons arrive comma-joined; a comma between digits is a thousands separator.
  if (order.rejectReason)
    return [...new Set(order.rejectReason.split(/,(?!\d)/).map((r) => r.trim()))].join(', ');
  const failed = order.denial?.filter((v) => !v.passed).map((v) => v.rule) ?? [];
  return failed.length > 0 ? failed.join(', ') : '—';
}

function statusTone(order: Order): string {
  if (order.status === 'filled') return 'tag-ok';
  if (order.status === 'rejected' || order.status === 'denied') return 'tag-bad';
  if (WORKING.has(order.status)) return 'tag-warn';
  return '';
}

const columns: readonly Column<Order>[] = [
  // On a phone the time folds into the details line: the status outranks it.
  { id: 'created', header: 'Created (UTC)', class: 'mono', priority: 2, cell: (o) => utcTime(o.createdAt) },
  { id: 'symbol', header: 'Symbol', class: 'mono', cell: (o) => o.symbol },
  sideColumn((o) => o.side),
  {
    id: 'type',
    header: 'Type',
    priority: 3,
    cell: (o) => (
      <>
        <Show when={o.bracketRole}>
          <span class="dim" title="Bracket leg of the entry above (one cancels the other)">
            ↳ {o.bracketRole} ·{' '}
          </span>
        </Show>
        {o.orderType} · {o.timeInForce}
      </>
    ),
  },
  {
    id: 'qty',
    header: 'Qty',
    numeric: true,
    title: (o) => (o.bracketRole ? 'Sized to what the entry has filled' : undefined),
    cell: (o) => formatQuantity(o.quantity, o.symbol),
  },
  priceColumn(
    'limit',
    'Limit / stop',
    (o) => o.limitPrice ?? o.stopPrice,
    (o) => o.symbol,
    2,
  ),
  { id: 'filled', header: 'Filled', numeric: true, cell: (o) => formatQuantity(o.filledQuantity, o.symbol) },
  priceColumn(
    'avg',
    'Avg price',
    (o) => o.avgFillPrice,
    (o) => o.symbol,
    3,
  ),
  {
    id: 'status',
    header: 'Status',
    cell: (o) => <span class={`tag ${statusTone(o)}`}>{o.status.replaceAll('_', ' ')}</span>,
  },
  {
    id: 'account',
    header: 'Account',
    class: 'dim',
    priority: 3,
    title: (o) => (o.brokerConnectionId ? `connection ${o.brokerConnectionId}` : undefined),
    cell: (o) => (o.brokerConnectionId ? o.broker : 'paper'),
  },
  { id: 'origin', header: 'Origin', class: 'dim', priority: 3, cell: (o) => o.origin },
  {
    id: 'reason',
    header: 'Reason',
    class: 'dim',
    wrap: true,
    priority: 2,
    title: (o) => o.rejectReason ?? undefined,
    cell: (o) => reasonOf(o),
  },
];

export default function OrdersPage() {
  const session = useSession();
  const orders = createQuery(() => trpc.orders.list.query({ status: 'all', limit: 200 }), { pollMs: 5_000 });
  const canTrade = () => ['admin', 'trader'].includes(session.me()?.activeDesk?.role ?? '');
  const [cancelError, setCancelError] = createSignal<string>();
  // The order drawer: a row click (or Enter on a focused row) opens everything about the order.
  const drawer = createOrderDrawer();
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
      <PageHeader
        title="Orders"
        sub="Working and completed orders, newest first · click an order for its timeline"
      />
      <div class="orders-layout">
        <div>
          <ErrorAlert message={cancelError()} style={{ 'margin-bottom': '10px' }} />
          <Panel title="Orders" meta="Latest 200 · refreshes every 5 s" bodyClass="h-audit" flush>
            <QueryView query={orders} errorTitle="Could not load orders">
              {(list) => (
                <DataTable
                  label="Orders, newest first"
                  rows={groupBrackets(list)}
                  empty="No orders on this desk yet"
                  fill
                  columns={columns}
                  onRowClick={(o, event) => drawer.open(o.id, event)}
                  actionsLabel="Actions"
                  actions={(o) => (
                    <Show when={canTrade() && WORKING.has(o.status) && o.status !== 'pending_cancel'}>
                      <button
                        type="button"
                        class="btn btn-sm"
                        aria-label={`Cancel order ${o.clientOrderId}`}
                        onClick={() => void cancel(o)}
                      >
                        Cancel
                      </button>
                    </Show>
                  )}
                />
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
      <drawer.Drawer />
    </>
  );
}
