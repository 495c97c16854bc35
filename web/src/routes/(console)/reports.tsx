import { createSignal, For } from 'solid-js';
import { type Column, DataTable } from '../../components/data-table/data-table.tsx';
import { pnlColumn } from '../../components/data-table/pnl-column.ts';
import { priceColumn } from '../../components/data-table/price-column.ts';
import { sideColumn } from '../../components/data-table/side-column.ts';
import { ErrorAlert } from '../../components/error-alert.tsx';
import { createOrderDrawer } from '../../components/order-drawer.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { Panel, QueryView } from '../../components/panel.tsx';
import { formatDecimal } from '../../lib/decimal-format.ts';
import { formatQuantity } from '../../lib/instrument-sizes.ts';
import { createQuery, type Query } from '../../lib/query.ts';
import { errorMessageOf, type RouterInputs, type RouterOutputs, trpc } from '../../lib/trpc.ts';

type InstrumentRow = RouterOutputs['reports']['pnlByInstrument'][number];
type DayRow = RouterOutputs['reports']['pnlByDay'][number];
type BlotterRow = RouterOutputs['reports']['blotter'][number];
type ExportKind = RouterInputs['reports']['export']['kind'];

const money = (v: string | null) => formatDecimal(v, 2);

const instrumentColumns: Column<InstrumentRow>[] = [
  { id: 'symbol', header: 'Symbol', cell: (r) => <span class="mono">{r.symbol}</span>, rowHeader: true },
  { id: 'qty', header: 'Qty', cell: (r) => formatQuantity(r.quantity, r.symbol), numeric: true },
  priceColumn(
    'avg',
    'Avg cost',
    (r) => r.avgCost,
    (r) => r.symbol,
    3,
  ),
  priceColumn(
    'mark',
    'Mark',
    (r) => r.mark,
    (r) => r.symbol,
    2,
  ),
  pnlColumn('realized', 'Realized', (r) => r.realizedPnl),
  pnlColumn('unrealized', 'Unrealized', (r) => r.unrealizedPnl, 2),
  { id: 'fees', header: 'Fees', cell: (r) => money(r.fees), numeric: true, priority: 3 },
  pnlColumn('net', 'Net', (r) => r.netPnl),
];

const dayColumns: Column<DayRow>[] = [
  { id: 'day', header: 'Day', cell: (r) => <span class="mono">{r.day}</span>, rowHeader: true },
  pnlColumn('realized', 'Realized', (r) => r.realizedPnl),
  { id: 'fees', header: 'Fees', cell: (r) => money(r.fees), numeric: true, priority: 2 },
  pnlColumn('net', 'Net realized', (r) => r.netRealized),
  { id: 'fills', header: 'Fills', cell: (r) => String(r.fills), numeric: true, priority: 2 },
  { id: 'notional', header: 'Notional', cell: (r) => money(r.notional), numeric: true, priority: 3 },
  {
    id: 'equity',
    header: 'Equity close',
    cell: (r) => money(r.equityClose),
    numeric: true,
    priority: 3,
    help: "The desk's equity at its last snapshot of the day",
  },
  {
    ...pnlColumn('change', 'Equity change', (r) => r.equityChange, 2),
    help: 'Change from the previous day’s close: realized and unrealized P&L, net of fees',
  },
];

const blotterColumns: Column<BlotterRow>[] = [
  {
    id: 'time',
    header: 'Time (UTC)',
    cell: (r) => <span class="mono">{r.ts.slice(0, 19).replace('T', ' ')}</span>,
  },
  { id: 'symbol', header: 'Symbol', cell: (r) => <span class="mono">{r.symbol}</span> },
  sideColumn((r) => r.side),
  { id: 'qty', header: 'Qty', cell: (r) => formatQuantity(r.quantity, r.symbol), numeric: true },
  priceColumn(
    'price',
    'Price',
    (r) => r.price,
    (r) => r.symbol,
  ),
  { id: 'notional', header: 'Notional', cell: (r) => money(r.notional), numeric: true, priority: 2 },
  { id: 'fee', header: 'Fee', cell: (r) => money(r.fee), numeric: true, priority: 3 },
  { id: 'origin', header: 'Origin', cell: (r) => r.origin, priority: 3 },
  { id: 'account', header: 'Account', cell: (r) => r.account, priority: 3 },
  {
    id: 'order',
    header: 'Order',
    // A short id (the row opens the order's drawer); the full client order id on hover.
    cell: (r) => (
      <span class="mono" title={r.clientOrderId}>
        {r.orderId.slice(0, 8)}
      </span>
    ),
    priority: 3,
  },
];

const EXPORTS: readonly { kind: ExportKind; label: string }[] = [
  { kind: 'orders', label: 'Orders' },
  { kind: 'fills', label: 'Fills (blotter)' },
  { kind: 'positions', label: 'Positions' },
  { kind: 'pnl_by_day', label: 'P&L by day' },
];

/** Saves a server-made CSV as a file (a Blob link: no second request, the session stays in headers). */
function download(filename: string, csv: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One report: a panel holding the query's rows as a table (the table's name is the panel's title). */
function ReportTable<T>(props: {
  title: string;
  meta: string;
  query: Query<readonly T[]>;
  columns: readonly Column<T>[];
  empty: string;
  errorTitle?: string;
  /** The rows in the order shown (default: as the server sends them). */
  rows?: (rows: readonly T[]) => readonly T[];
  onRowClick?: (row: T, event: MouseEvent | KeyboardEvent) => void;
}) {
  return (
    <Panel title={props.title} meta={props.meta} flush>
      <QueryView query={props.query} errorTitle={props.errorTitle ?? `Could not load ${props.title}`}>
        {(rows) => (
          <DataTable
            label={props.title}
            columns={props.columns}
            rows={props.rows ? props.rows(rows) : rows}
            empty={props.empty}
            {...(props.onRowClick ? { onRowClick: props.onRowClick } : {})}
          />
        )}
      </QueryView>
    </Panel>
  );
}

/**
 * Reports: P&L by instrument (live marks) and by trading day (the desk's timezone), the trade
 * blotter, and CSV exports of orders, fills, positions and daily P&L — the numbers `aegis
 * reports` prints, from the same procedures.
 */
export default function ReportsPage() {
  const byInstrument = createQuery(() => trpc.reports.pnlByInstrument.query(), { pollMs: 10_000 });
  const byDay = createQuery(() => trpc.reports.pnlByDay.query({}), { pollMs: 30_000 });
  const blotter = createQuery(() => trpc.reports.blotter.query({ range: {}, limit: 200 }), {
    pollMs: 10_000,
  });
  const [busy, setBusy] = createSignal<ExportKind>();
  const [error, setError] = createSignal<string>();
  const [done, setDone] = createSignal<string>();
  // The order drawer: a blotter row click (or Enter on a focused row) opens the fill's order.
  const drawer = createOrderDrawer();

  const exportCsv = async (kind: ExportKind) => {
    setBusy(kind);
    setError(undefined);
    setDone(undefined);
    try {
      const file = await trpc.reports.export.query({ kind, range: {} });
      download(file.filename, file.csv);
      setDone(
        `${file.filename}: ${file.rows} rows${file.truncated ? ' (truncated: export a narrower range with the CLI)' : ''}`,
      );
    } catch (e) {
      setError(errorMessageOf(e));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <>
      <PageHeader title="Reports" sub="P&L by instrument and by day, the trade blotter, CSV exports" />
      <div style={{ display: 'grid', gap: 'var(--gap)', 'min-width': '0' }}>
        <Panel title="Export" meta="CSV, UTC times, exact decimals">
          {/* Buttons only (no form): each saves one file. */}
          <div class="proposal-actions">
            <For each={EXPORTS}>
              {(x) => (
                <button
                  type="button"
                  class="btn btn-sm"
                  disabled={busy() !== undefined}
                  onClick={() => void exportCsv(x.kind)}
                >
                  {busy() === x.kind ? 'Exporting…' : `Export ${x.label}`}
                </button>
              )}
            </For>
          </div>
          <ErrorAlert message={error()} />
          {done() && (
            <p class="dim" role="status">
              Saved {done()}
            </p>
          )}
        </Panel>
        <ReportTable
          title="P&L by instrument"
          meta="Average cost, live marks"
          query={byInstrument}
          columns={instrumentColumns}
          empty="No positions yet"
        />
        <ReportTable
          title="P&L by day"
          meta="Trading days in the desk's timezone"
          query={byDay}
          columns={dayColumns}
          rows={(rows) => [...rows].reverse()}
          empty="No fills yet"
        />
        <ReportTable
          title="Trade blotter"
          meta="Latest 200 fills"
          errorTitle="Could not load the blotter"
          query={blotter}
          columns={blotterColumns}
          empty="No fills yet"
          onRowClick={(r, event) => drawer.open(r.orderId, event)}
        />
      </div>
      <drawer.Drawer />
    </>
  );
}
