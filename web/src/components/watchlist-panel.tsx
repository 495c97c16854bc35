import { useNavigate } from '@solidjs/router';
import { createMemo, createSignal, For, Match, onMount, Show, Switch } from 'solid-js';
import { formatDecimal, pnlClass } from '../lib/decimal-format.ts';
import { sizesOf } from '../lib/instrument-sizes.ts';
import { createLiveQuotes, decimalsOf, priceDecimals } from '../lib/live-quotes.ts';
import { createQuery } from '../lib/query.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { DataTable } from './data-table/data-table.tsx';
import { ErrorAlert } from './error-alert.tsx';
import { BarSelect } from './input-field.tsx';
import { EmptyState } from './panel.tsx';
import { SymbolSearch } from './symbol-search.tsx';
import '../market.css';

type Watchlist = RouterOutputs['watchlists']['list'][number];

/** The list shown last, per browser (which list a trader looks at is not worth a server round). */
const SELECTED_KEY = 'aegis.watchlist.selected';

export const instrumentHref = (symbol: string) => `/instruments/${encodeURIComponent(symbol)}`;

/**
 * The trader's own watchlists on this desk: pick one, see its symbols with live last, day
 * change, bid and ask (`marketData.onQuotes`), add symbols through the instrument search, remove
 * them, create and delete lists. A row opens the instrument page. The lists render from the
 * latest answer without remounting (a QueryView rebuilds its children on every refetch, and the
 * add-symbol search would lose its focus after each add).
 */
export function WatchlistPanelBody() {
  const navigate = useNavigate();
  const lists = createQuery(() => trpc.watchlists.list.query());
  const [selectedId, setSelectedId] = createSignal<string>();
  const [error, setError] = createSignal<string>();
  const [creating, setCreating] = createSignal(false);
  const [busy, setBusy] = createSignal(false);
  onMount(() => setSelectedId(localStorage.getItem(SELECTED_KEY) ?? undefined));

  const all = (): readonly Watchlist[] => {
    const s = lists.state();
    return s.status === 'ready' ? s.data : [];
  };
  const selected = createMemo(() => all().find((w) => w.id === selectedId()) ?? all()[0]);
  const live = createLiveQuotes(() => selected()?.symbols ?? []);
  const quoteOf = (symbol: string) => live.quotes().get(symbol);
  // The tick size's decimals where the registry knows the symbol, else the quote's own digits.
  const decimalsFor = (symbol: string) => {
    const tick = sizesOf(symbol)?.tickSize;
    const q = quoteOf(symbol);
    return tick ? decimalsOf(tick) : priceDecimals(q?.last ?? q?.bid ?? null);
  };

  const select = (id: string) => {
    setSelectedId(id);
    localStorage.setItem(SELECTED_KEY, id);
  };

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(errorMessageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const create = (name: string) =>
    run(async () => {
      const made = await trpc.watchlists.create.mutate({ name, symbols: [] });
      await lists.refetch();
      select(made.id);
      setCreating(false);
    });
  const setSymbols = (w: Watchlist, symbols: string[]) =>
    run(async () => {
      await trpc.watchlists.update.mutate({ id: w.id, symbols });
      await lists.refetch();
    });
  const remove = (w: Watchlist) =>
    run(async () => {
      if (!window.confirm(`Delete the watchlist “${w.name}”?`)) return;
      await trpc.watchlists.remove.mutate({ id: w.id });
      localStorage.removeItem(SELECTED_KEY);
      await lists.refetch();
    });

  const createForm = () => (
    <form
      class="watchlist-create"
      aria-label="New watchlist"
      onSubmit={(e) => {
        e.preventDefault();
        const name = String(new FormData(e.currentTarget).get('name') ?? '').trim();
        if (name) void create(name);
      }}
    >
      <label class="visually-hidden" for="watchlist-name">
        Watchlist name
      </label>
      <input
        id="watchlist-name"
        name="name"
        class="watchlist-input"
        required
        maxLength={60}
        placeholder="Name"
      />
      <button type="submit" class="btn btn-sm" disabled={busy()}>
        Create
      </button>
      <Show when={all().length > 0}>
        <button type="button" class="btn btn-sm btn-ghost" onClick={() => setCreating(false)}>
          Cancel
        </button>
      </Show>
    </form>
  );

  return (
    <div class="watchlist">
      <Switch>
        <Match when={lists.state().status === 'loading'}>
          <div class="skeleton" role="status" aria-busy="true">
            <span class="visually-hidden">Loading</span>
          </div>
        </Match>
        <Match when={lists.state().status === 'error' && lists.state()} keyed>
          {(st) => (
            <EmptyState title="Could not load watchlists" tone="error">
              {st.status === 'error' ? st.message : ''}
            </EmptyState>
          )}
        </Match>
        <Match when={true}>
          <Show
            when={all().length > 0 && !creating()}
            fallback={
              <div class="watchlist-empty">
                <Show when={all().length === 0}>
                  <EmptyState title="No watchlist yet">
                    Create one, then add symbols to follow their prices.
                  </EmptyState>
                </Show>
                {createForm()}
              </div>
            }
          >
            <div class="watchlist-bar">
              <BarSelect
                label="Watchlist"
                id="watchlist-select"
                class="select watchlist-select"
                onChange={(e) => select(e.currentTarget.value)}
              >
                <For each={all()}>
                  {(w) => (
                    <option value={w.id} selected={w.id === selected()?.id}>
                      {w.name} ({w.symbols.length})
                    </option>
                  )}
                </For>
              </BarSelect>
              <SymbolSearch
                label="Add a symbol to the watchlist"
                placeholder="Add symbol"
                clearOnPick
                class="watchlist-add"
                onPick={(symbol) => {
                  const w = selected();
                  if (w && !w.symbols.includes(symbol)) void setSymbols(w, [...w.symbols, symbol]);
                }}
              />
              <button type="button" class="btn btn-sm btn-ghost" onClick={() => setCreating(true)}>
                New list
              </button>
              <button
                type="button"
                class="btn btn-sm btn-ghost"
                aria-label={`Delete watchlist ${selected()?.name ?? ''}`}
                onClick={() => {
                  const w = selected();
                  if (w) void remove(w);
                }}
              >
                Delete
              </button>
            </div>
            <ErrorAlert message={error()} />
            <Show
              when={(selected()?.symbols.length ?? 0) > 0}
              fallback={
                <EmptyState title="This watchlist is empty">Add a symbol with the search above.</EmptyState>
              }
            >
              <div class="watchlist-scroll">
                <DataTable
                  label={`Watchlist ${selected()?.name ?? ''}, live prices`}
                  class="watchlist-table"
                  tableAttrs={{ 'data-live': live.live() ? 'true' : 'false' }}
                  rows={selected()?.symbols ?? []}
                  fill
                  rowClass={() => 'watchlist-row'}
                  rowAttrs={(symbol) => ({
                    'data-symbol': symbol,
                    'data-last': live.quotes().get(symbol)?.last ?? '',
                  })}
                  onRowClick={(symbol) => navigate(instrumentHref(symbol))}
                  columns={[
                    {
                      id: 'symbol',
                      header: 'Symbol',
                      rowHeader: true,
                      class: 'mono',
                      cell: (symbol) => (
                        <a
                          href={instrumentHref(symbol)}
                          onClick={(e) => {
                            e.preventDefault();
                            e.stopPropagation();
                            navigate(instrumentHref(symbol));
                          }}
                        >
                          {symbol}
                        </a>
                      ),
                    },
                    {
                      id: 'last',
                      header: 'Last',
                      numeric: true,
                      cell: (symbol) => formatDecimal(quoteOf(symbol)?.last ?? null, decimalsFor(symbol)),
                    },
                    {
                      id: 'change',
                      header: 'Change',
                      numeric: true,
                      priority: 3,
                      class: (symbol) => pnlClass(quoteOf(symbol)?.dayChange),
                      cell: (symbol) =>
                        formatDecimal(quoteOf(symbol)?.dayChange ?? null, decimalsFor(symbol), {
                          sign: true,
                        }),
                    },
                    {
                      id: 'pct',
                      header: 'Chg %',
                      numeric: true,
                      class: (symbol) => pnlClass(quoteOf(symbol)?.dayChange),
                      cell: (symbol) => {
                        const pct = quoteOf(symbol)?.dayChangePct;
                        return pct === null || pct === undefined
                          ? '—'
                          : `${pct > 0 ? '+' : pct < 0 ? '−' : ''}${Math.abs(pct).toFixed(2)}%`;
                      },
                    },
                    {
                      id: 'bid',
                      header: 'Bid',
                      numeric: true,
                      priority: 2,
                      cell: (symbol) => formatDecimal(quoteOf(symbol)?.bid ?? null, decimalsFor(symbol)),
                    },
                    {
                      id: 'ask',
                      header: 'Ask',
                      numeric: true,
                      priority: 2,
                      cell: (symbol) => formatDecimal(quoteOf(symbol)?.ask ?? null, decimalsFor(symbol)),
                    },
                  ]}
                  actionsLabel="Remove"
                  actions={(symbol) => (
                    <button
                      type="button"
                      class="btn btn-sm btn-ghost"
                      aria-label={`Remove ${symbol} from the watchlist`}
                      title="Remove from the watchlist"
                      onClick={(e) => {
                        e.stopPropagation();
                        const w = selected();
                        if (w)
                          void setSymbols(
                            w,
                            w.symbols.filter((s) => s !== symbol),
                          );
                      }}
                    >
                      ×
                    </button>
                  )}
                />
              </div>
              <Show when={live.error()}>
                <p class="watchlist-note dim" role="status">
                  {live.error()}
                </p>
              </Show>
            </Show>
          </Show>
        </Match>
      </Switch>
    </div>
  );
}
