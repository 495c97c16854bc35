import type { RiskPreset } from '@aegis/shared/schemas/option-recommendation';
import { Title } from '@solidjs/meta';
import { useSearchParams } from '@solidjs/router';
import { createEffect, createMemo, createSignal, For, on, Show } from 'solid-js';
import { BarSelect } from '../../components/input-field.tsx';
import { ChainStats } from '../../components/options/chain-stats.tsx';
import { DeskGreeksPanel } from '../../components/options/desk-greeks-panel.tsx';
import { type ChainContract, OptionChainTable } from '../../components/options/option-chain-table.tsx';
import { PRESETS, RecommendForm } from '../../components/options/recommend-form.tsx';
import { RecommendationPanel } from '../../components/options/recommendation-panel.tsx';
import { StrategyPositions } from '../../components/options/strategy-positions.tsx';
import { VerticalBuilder, type VerticalDraft } from '../../components/options/vertical-builder.tsx';
import { EmptyState, Panel } from '../../components/panel.tsx';
import { SymbolSearch } from '../../components/symbol-search.tsx';
import { createRecommendationStream, type Recommendation } from '../../lib/option-recommendation.ts';
import { createQuery, type QueryState } from '../../lib/query.ts';
import { useSession } from '../../lib/session.tsx';
import { type RouterOutputs, trpc } from '../../lib/trpc.ts';
import '../../components/options/options.css';

type Presets = RouterOutputs['options']['presets'];

/**
 * Scrolls the console's main area (only it: scrollIntoView would also scroll the document
 * behind the fixed frame) so the element is in view.
 */
function scrollMainTo(id: string): void {
  const el = document.getElementById(id);
  const main = document.getElementById('main');
  if (!el || !main) return;
  const top = el.getBoundingClientRect().top - main.getBoundingClientRect().top + main.scrollTop - 12;
  main.scrollTo({ top, behavior: 'smooth' });
}

/** Calendar days from today (UTC) to an expiry date, for the expiry picker's label. */
function calendarDaysTo(date: string): number {
  const today = new Date().toISOString().slice(0, 10);
  return Math.round((Date.parse(date) - Date.parse(today)) / 86_400_000);
}

/**
 * Options: look up an underlying, read its chain (Greeks, IV, liquidity heat, the preset's
 * filters), ask the recommender with a risk preset, capital and view and watch its reasoning
 * arrive layer by layer, build and place a vertical, and watch the desk's Greeks against the
 * limits. The underlying is in the URL (`?symbol=`), so a chain can be linked to.
 */
export default function OptionsPage() {
  const [search, setSearch] = useSearchParams<{ symbol?: string }>();
  const symbol = () => (typeof search.symbol === 'string' ? search.symbol.trim().toUpperCase() : '');
  const presets = createQuery(() => trpc.options.presets.query({}));
  const preferences = createQuery(() => trpc.options.preferences.query({}));
  const [preset, setPreset] = createSignal<RiskPreset>('balanced');
  let presetTouched = false;
  // The saved preset sets the slider once, unless the trader moved it first.
  createEffect(() => {
    const p = preferences.state();
    if (p.status === 'ready' && !presetTouched && PRESETS.includes(p.data.preset)) setPreset(p.data.preset);
  });
  const choosePreset = (p: RiskPreset) => {
    presetTouched = true;
    setPreset(p);
  };

  return (
    <>
      <Title>{symbol() ? `${symbol()} options` : 'Options'} · Aegis</Title>
      {/* Positioned, so the page's visually hidden labels are laid out (and clipped) inside the
          scrolling main area rather than stretching the document behind the console frame. */}
      <div class="options-page">
        <div class="page-header options-header">
          <h1>Options</h1>
          <SymbolSearch
            label="Option underlying"
            placeholder="Underlying, e.g. SYN0001"
            class="options-search"
            onPick={(s) => setSearch({ symbol: s })}
            onUnmatched={(s) => setSearch({ symbol: s })}
          />
          <span class="page-sub">
            Chain, recommendation, verticals and the desk's Greeks
            <Show when={symbol()}>
              {' '}
              · <b class="mono options-symbol">{symbol()}</b>
            </Show>
          </span>
        </div>
        <Show
          when={symbol()}
          keyed
          fallback={
            <div class="options-empty">
              <EmptyState title="Look up an underlying">
                Search a symbol above (a synthetic one such as SYN0001 has its chain listed on first look-up).
              </EmptyState>
            </div>
          }
        >
          {(s) => (
            <OptionsDesk
              symbol={s}
              presets={presets.state()}
              preset={preset()}
              onPreset={choosePreset}
              savedCapital={(() => {
                const p = preferences.state();
                return p.status === 'ready' ? p.data.capital : undefined;
              })()}
              onSaved={() => void preferences.refetch()}
            />
          )}
        </Show>
        <div class="options-greeks">
          <Panel title="Desk Greeks" id="options-greeks" meta="Live · against the risk limits">
            <DeskGreeksPanel />
          </Panel>
        </div>
        <div class="options-strategies">
          <Panel title="Open strategies" id="options-strategies" meta="Per combo and leg · venue marks">
            <StrategyPositions />
          </Panel>
        </div>
      </div>
    </>
  );
}

function OptionsDesk(props: {
  symbol: string;
  presets: QueryState<Presets>;
  preset: RiskPreset;
  onPreset: (p: RiskPreset) => void;
  savedCapital: string | null | undefined;
  onSaved: () => void;
}) {
  const session = useSession();
  const canTrade = () => ['admin', 'trader'].includes(session.me()?.activeDesk?.role ?? '');
  const [expiry, setExpiry] = createSignal<string | null>(null);
  const [side, setSide] = createSignal<'both' | 'call' | 'put'>('both');
  const [applyFilters, setApplyFilters] = createSignal(true);
  const filters = () => {
    const p = props.presets;
    return applyFilters() && p.status === 'ready'
      ? p.data.find((t) => t.preset === props.preset)?.filters
      : undefined;
  };
  const chain = createQuery(
    () =>
      trpc.marketData.chain.query({
        symbol: props.symbol,
        ...(expiry() ? { expiry: expiry()! } : {}),
        ...(filters() ? { filters: filters()! } : {}),
      }),
    { pollMs: 5_000 },
  );
  // A new expiry or preset asks again at once (the poll keeps it live after that).
  createEffect(
    on([expiry, () => JSON.stringify(filters() ?? null)], () => void chain.refetch(), { defer: true }),
  );
  const data = () => {
    const s = chain.state();
    return s.status === 'ready' ? s.data : undefined;
  };
  // The first answer lists every expiry: show the nearest one inside the preset's expiry window
  // (else the nearest at least a week out), where the recommender will look.
  createEffect(() => {
    const c = data();
    if (!c || expiry() !== null || c.expiries.length === 0) return;
    const p = props.presets;
    const t = p.status === 'ready' ? p.data.find((x) => x.preset === props.preset) : undefined;
    const byDte = [...c.contracts].sort((a, b) => a.dte - b.dte);
    const inWindow = t ? byDte.find((k) => k.dte >= t.minDte && k.dte <= t.maxDte)?.expiry : undefined;
    setExpiry(inWindow ?? byDte.find((k) => k.dte >= 7)?.expiry ?? c.expiries[0]!);
  });
  const shownExpiry = () => expiry() ?? data()?.expiries[0] ?? null;
  const expiryContracts = createMemo(() =>
    (data()?.contracts ?? []).filter((c) => c.expiry === shownExpiry()),
  );

  // The at-the-money strike is centred in the chain once per expiry (then the trader scrolls).
  let chainScroll: HTMLDivElement | undefined;
  let centred: string | null = null;
  createEffect(() => {
    const x = shownExpiry();
    if (!data() || x === centred || !data()!.contracts.some((k) => k.expiry === x)) return;
    queueMicrotask(() => {
      const row = chainScroll?.querySelector<HTMLElement>('tr.chain-atm');
      if (!chainScroll || !row) return;
      centred = x;
      chainScroll.scrollTop = row.offsetTop - chainScroll.clientHeight / 2 + row.offsetHeight / 2;
    });
  });

  const stream = createRecommendationStream();
  createEffect(
    on(stream.status, (st) => {
      if (st === 'done' && stream.input()?.save !== false) props.onSaved();
    }),
  );

  const [draft, setDraft] = createSignal<VerticalDraft>();
  let seq = 0;
  const load = (r: Recommendation) => {
    const long = r.legs.find((l) => l.side === 'buy');
    const short = r.legs.find((l) => l.side === 'sell');
    if (!long?.strike || !short?.strike || !long.right) return;
    setDraft({
      ...(long.expiry ? { expiry: long.expiry } : {}),
      right: long.right,
      longStrike: long.strike,
      shortStrike: short.strike,
      quantity: r.quantity,
      netPrice: r.netPrice,
      seq: ++seq,
    });
    scrollMainTo('options-builder-title');
  };
  // Chain clicks: the first pick is the long leg, the next (same right) the short one.
  let pickedLong: ChainContract | undefined;
  const pick = (c: ChainContract) => {
    if (!pickedLong || pickedLong.right !== c.right || pickedLong.strike === c.strike) {
      pickedLong = c;
      setDraft({ expiry: c.expiry, right: c.right, longStrike: c.strike, shortStrike: '', seq: ++seq });
    } else {
      setDraft({ expiry: c.expiry, right: c.right, shortStrike: c.strike, seq: ++seq });
      pickedLong = undefined;
    }
  };

  return (
    <>
      <ChainStats chain={data()} failure={chain.state().status === 'error' ? chain.state() : undefined} />
      <Panel
        title="Option chain"
        id="options-chain"
        meta={
          <span class="chain-controls">
            <BarSelect
              label="Expiry"
              id="chain-expiry"
              class="select select-sm"
              onChange={(e) => setExpiry(e.currentTarget.value)}
            >
              <For each={data()?.expiries ?? []}>
                {(x) => (
                  <option value={x} selected={x === shownExpiry()}>
                    {x} ({calendarDaysTo(x)} d)
                  </option>
                )}
              </For>
            </BarSelect>
            <fieldset class="interval-picker">
              <legend class="visually-hidden">Show</legend>
              <For each={['both', 'call', 'put'] as const}>
                {(x) => (
                  <button
                    type="button"
                    class="interval-btn"
                    aria-pressed={side() === x}
                    onClick={() => setSide(x)}
                  >
                    {x === 'both' ? 'Calls & puts' : x === 'call' ? 'Calls' : 'Puts'}
                  </button>
                )}
              </For>
            </fieldset>
            <label class="chain-filter-toggle">
              <input
                type="checkbox"
                checked={applyFilters()}
                onChange={(e) => setApplyFilters(e.currentTarget.checked)}
              />
              {props.preset} filters
            </label>
          </span>
        }
        bodyClass="h-chain"
        flush
      >
        <Show
          when={data()}
          fallback={
            <Show
              when={chain.state().status === 'error'}
              fallback={
                <div class="skeleton" role="status" aria-busy="true">
                  <span class="visually-hidden">Loading the chain</span>
                </div>
              }
            >
              <EmptyState title="Could not load the chain" tone="error">
                {(chain.state() as { message?: string }).message}
              </EmptyState>
            </Show>
          }
        >
          {(c) => (
            <div class="scroll chain-scroll" ref={chainScroll}>
              <OptionChainTable chain={c()} expiry={shownExpiry()} side={side()} onPick={pick} />
            </div>
          )}
        </Show>
      </Panel>

      <div class="options-grid">
        <div class="options-col-form">
          <Panel title="Risk and view" id="options-request" meta="Preset targets">
            <RecommendForm
              symbol={props.symbol}
              presets={props.presets}
              preset={props.preset}
              onPreset={props.onPreset}
              savedCapital={props.savedCapital}
              busy={stream.status() === 'streaming'}
              onRecommend={(input) => stream.start(input)}
            />
          </Panel>
        </div>
        <div class="options-col-rec">
          <Panel
            title="Recommendation"
            id="options-recommendation"
            meta="Layers stream in as computed"
            bodyClass="h-rec"
          >
            <RecommendationPanel stream={stream} onLoad={load} />
          </Panel>
        </div>
        <div class="options-col-builder">
          <Panel title="Strategy builder" id="options-builder" meta="Verticals · all-or-none combo">
            <VerticalBuilder
              symbol={props.symbol}
              expiries={data()?.expiries ?? []}
              expiry={shownExpiry()}
              onExpiry={setExpiry}
              contracts={expiryContracts()}
              multiplier={data()?.multiplier ?? '100'}
              draft={draft}
              canTrade={canTrade()}
              onPlaced={() => {}}
            />
          </Panel>
        </div>
      </div>
    </>
  );
}
