import { Title } from '@solidjs/meta';
import { A } from '@solidjs/router';
import { createMemo, createSignal, For, Show } from 'solid-js';
import { EmptyState, Panel, QueryView } from '../../../components/panel.tsx';
import { instrumentHref, WatchlistPanelBody } from '../../../components/watchlist-panel.tsx';
import { formatDecimal } from '../../../lib/decimal-format.ts';
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
              <Show when={matches().length > 0} fallback={<EmptyState title="No instrument matches" />}>
                <div class="scroll">
                  <table class="table instruments-table">
                    <caption class="visually-hidden">Instruments</caption>
                    <thead>
                      <tr>
                        <th scope="col">Symbol</th>
                        <th scope="col">Name</th>
                        <th scope="col">Venue</th>
                        <th scope="col">Class</th>
                        <th scope="col">Ccy</th>
                        <th scope="col" class="num">
                          Tick
                        </th>
                        <th scope="col" class="num">
                          Lot
                        </th>
                        <th scope="col">Hours</th>
                        <th scope="col">Status</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={matches()}>
                        {(i) => (
                          <tr>
                            <th scope="row" class="mono">
                              <A href={instrumentHref(i.symbol)}>{i.symbol}</A>
                            </th>
                            <td class="dim">{i.name ?? '—'}</td>
                            <td>
                              {i.venue}
                              <Show when={i.venueSymbol !== i.symbol}>
                                <span class="dim"> · {i.venueSymbol}</span>
                              </Show>
                            </td>
                            <td>{i.assetClass}</td>
                            <td>{i.currency}</td>
                            <td class="num">
                              {formatDecimal(
                                i.tickSize,
                                Math.max(0, (i.tickSize.split('.')[1] ?? '').length),
                              )}
                            </td>
                            <td class="num">
                              {formatDecimal(i.lotSize, Math.max(0, (i.lotSize.split('.')[1] ?? '').length))}
                            </td>
                            <td class="dim">{i.calendar}</td>
                            <td>
                              <span class={`tag ${i.status === 'active' ? 'tag-ok' : 'tag-bad'}`}>
                                {i.status}
                              </span>
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
    </>
  );
}
