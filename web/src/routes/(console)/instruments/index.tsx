import { Title } from '@solidjs/meta';
import { A } from '@solidjs/router';
import { createMemo, createSignal, Show } from 'solid-js';
import { DataTable } from '../../../components/data-table/data-table.tsx';
import { Panel, QueryView } from '../../../components/panel.tsx';
import { instrumentHref, WatchlistPanelBody } from '../../../components/watchlist-panel.tsx';
import { formatDecimal } from '../../../lib/decimal-format.ts';
import { decimalsOf } from '../../../lib/live-quotes.ts';
import { createQuery } from '../../../lib/query.ts';
import { trpc } from '../../../lib/trpc.ts';
import '../../../market.css';

/**
 * Markets: the trader's watchlists with live prices, and the instrument registry (every symbol
 * Aegis knows, per venue), filtered as one types. Each symbol opens its instrument page.
 */
export default function MarketsPage() {
  const registry = createQuery(() => trpc.instruments.list.query({ limit: 1000 }), { pollMs: 60_000 });
  const [filter, setFilter] = createSignal('');
  const matches = createMemo(() => {
    const s = registry.state();
    if (s.status !== 'ready') return [];
    const f = filter().trim().toUpperCase();
    if (!f) return s.data.items;
    return s.data.items.filter(
      (i) =>
        i.symbol.toUpperCase().includes(f) ||
        i.venueSymbol.toUpperCase().includes(f) ||
        (i.name ?? '').toUpperCase().includes(f) ||
        i.venue.toUpperCase() === f,
    );
  });
  return (
    <>
      <Title>Markets · Aegis</Title>
      <div class="page-header">
        <h1>Markets</h1>
        <span class="page-sub">
          Watchlists and instruments · press <kbd>/</kbd> to search a symbol
        </span>
      </div>
      <div class="markets-grid">
        <Panel
          title="Watchlist"
          id="markets-watchlist"
          meta="Live from the venues"
          bodyClass="h-watchlist"
          flush
        >
          <WatchlistPanelBody />
        </Panel>
        <Panel
          title="Instruments"
          id="markets-instruments"
          meta={
            <>
              <label class="visually-hidden" for="instrument-filter">
                Filter instruments
              </label>
              <input
                id="instrument-filter"
                class="watchlist-input"
                placeholder="Filter"
                autocomplete="off"
                onInput={(e) => setFilter(e.currentTarget.value)}
              />
            </>
          }
          bodyClass="h-watchlist"
          flush
        >
          <QueryView query={registry} errorTitle="Could not load instruments">
            {() => (
              <DataTable
                label="Instruments"
                rows={matches()}
                empty="No instrument matches"
                fill
                class="instruments-table"
                columns={[
                  {
                    id: 'symbol',
                    header: 'Symbol',
                    rowHeader: true,
                    class: 'mono',
                    cell: (i) => <A href={instrumentHref(i.symbol)}>{i.symbol}</A>,
                  },
                  { id: 'name', header: 'Name', class: 'dim', priority: 2, cell: (i) => i.name ?? '—' },
                  {
                    id: 'venue',
                    header: 'Venue',
                    cell: (i) => (
                      <>
                        {i.venue}
                        <Show when={i.venueSymbol !== i.symbol}>
                          <span class="dim"> · {i.venueSymbol}</span>
                        </Show>
                      </>
                    ),
                  },
                  { id: 'class', header: 'Class', priority: 3, cell: (i) => i.assetClass },
                  { id: 'ccy', header: 'Ccy', priority: 3, cell: (i) => i.currency },
                  {
                    id: 'tick',
                    header: 'Tick',
                    numeric: true,
                    priority: 2,
                    cell: (i) => formatDecimal(i.tickSize, decimalsOf(i.tickSize, 0)),
                  },
                  {
                    id: 'lot',
                    header: 'Lot',
                    numeric: true,
                    priority: 2,
                    cell: (i) => formatDecimal(i.lotSize, decimalsOf(i.lotSize, 0)),
                  },
                  { id: 'hours', header: 'Hours', class: 'dim', priority: 3, cell: (i) => i.calendar },
                  {
                    id: 'status',
                    header: 'Status',
                    cell: (i) => (
                      <span class={`tag ${i.status === 'active' ? 'tag-ok' : 'tag-bad'}`}>{i.status}</span>
                    ),
                  },
                ]}
              />
            )}
          </QueryView>
        </Panel>
      </div>
    </>
  );
}
