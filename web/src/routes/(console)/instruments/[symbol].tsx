import { BAR_INTERVALS, type BarInterval } from '@aegis/shared/schemas/market-data';
import { Title } from '@solidjs/meta';
import { A, useParams, useSearchParams } from '@solidjs/router';
import { createMemo, createSignal, For, Show } from 'solid-js';
import { BookLadder } from '../../../components/book-ladder.tsx';
import { OrderTicket, type TicketFill } from '../../../components/order-ticket.tsx';
import { EmptyState, Panel } from '../../../components/panel.tsx';
import { type ChartEvent, PriceChart } from '../../../components/price-chart.tsx';
import { QuoteStrip } from '../../../components/quote-strip.tsx';
import { TimeAndSales } from '../../../components/time-and-sales.tsx';
import { instrumentHref } from '../../../components/watchlist-panel.tsx';
import { formatDecimal, pnlClass } from '../../../lib/decimal-format.ts';
import { createLiveQuotes, decimalsOf, unknownInstrumentsOf } from '../../../lib/live-quotes.ts';
import { createQuery } from '../../../lib/query.ts';
import { useSession } from '../../../lib/session.tsx';
import { type RouterOutputs, trpc } from '../../../lib/trpc.ts';
import '../../../market.css';

type Instrument = RouterOutputs['instruments']['get'];

/** The intervals offered on the chart (the API has more: 15s, 30s, 30m, 4h). */
const PICKER: readonly BarInterval[] = ['1s', '5s', '1m', '5m', '15m', '1h', '1d'];
const isInterval = (v: unknown): v is BarInterval =>
  typeof v === 'string' && (BAR_INTERVALS as readonly string[]).includes(v);

/**
 * One instrument: header with the live quote and day change, candles with the desk's signals,
 * orders and fills, the L2 ladder (a click fills the ticket's limit price), time and sales, and
 * the order ticket for traders. An unknown symbol shows a not-found panel with the closest ones.
 */
export default function InstrumentPage() {
  const params = useParams<{ symbol: string }>();
  const symbol = () => decodeURIComponent(params.symbol ?? '').toUpperCase();
  return (
    <Show when={symbol()} keyed>
      {(s) => <InstrumentView symbol={s} />}
    </Show>
  );
}

function InstrumentView(props: { symbol: string }) {
  // The raw refusal is kept: an unknown symbol's carries the closest known ones.
  const [refusal, setRefusal] = createSignal<unknown>();
  const instrument = createQuery(
    () =>
      trpc.instruments.get.query({ symbol: props.symbol }).catch((e: unknown) => {
        setRefusal(e);
        throw e;
      }),
    {},
  );
  const state = instrument.state;
  return (
    <>
      <Title>{props.symbol} · Aegis</Title>
      <Show
        when={state().status === 'ready' && state()}
        keyed
        fallback={
          <Pending
            symbol={props.symbol}
            failure={state().status === 'error' ? (state() as { message: string }).message : undefined}
            refusal={refusal()}
          />
        }
      >
        {(s) => (s.status === 'ready' ? <Loaded instrument={s.data} /> : null)}
      </Show>
    </>
  );
}

/** Loading, or the instrument is unknown (with suggestions), or the lookup failed. */
function Pending(props: { symbol: string; failure: string | undefined; refusal: unknown }) {
  const unknown = () => unknownInstrumentsOf(props.refusal)[0];
  return (
    <>
      <div class="page-header">
        <h1 class="mono">{props.symbol}</h1>
      </div>
      <Show
        when={props.failure !== undefined}
        fallback={
          <div class="skeleton instrument-skeleton" role="status" aria-busy="true">
            <span class="visually-hidden">Loading {props.symbol}</span>
          </div>
        }
      >
        <Panel title="Instrument not found" id="instrument-not-found">
          <Show
            when={unknown()}
            fallback={
              <EmptyState title={`Could not load ${props.symbol}`} tone="error">
                {props.failure}
              </EmptyState>
            }
          >
            {(u) => (
              <div class="not-found" role="alert">
                <p>
                  No instrument <b class="mono">{props.symbol}</b> is known to Aegis.
                </p>
                <Show
                  when={u().suggestions.length > 0}
                  fallback={
                    <p class="dim">Nothing close to it either. Search with the box in the top bar.</p>
                  }
                >
                  <p>Did you mean:</p>
                  <ul class="suggestions" aria-label="Close matches">
                    <For each={u().suggestions}>
                      {(s) => (
                        <li>
                          <A href={instrumentHref(s)} class="mono">
                            {s}
                          </A>
                        </li>
                      )}
                    </For>
                  </ul>
                </Show>
                <p>
                  <A href="/instruments">Browse all instruments</A>
                </p>
              </div>
            )}
          </Show>
        </Panel>
      </Show>
    </>
  );
}

function Loaded(props: { instrument: Instrument }) {
  const session = useSession();
  const canTrade = () => ['admin', 'trader'].includes(session.me()?.activeDesk?.role ?? '');
  const inst = () => props.instrument;
  const decimals = () => decimalsOf(inst().tickSize);
  // Sizes print with the lot's decimals, at most 4 (a ladder of 8-decimal sizes is unreadable).
  const sizeDecimals = () => Math.min(Math.max(decimalsOf(inst().lotSize, 4), 2), 4);
  const [search, setSearch] = useSearchParams<{ interval?: string }>();
  const interval = (): BarInterval => (isInterval(search.interval) ? search.interval : '1m');
  const live = createLiveQuotes(() => [inst().symbol]);
  const quote = () => live.quotes().get(inst().symbol);
  const [fill, setFill] = createSignal<TicketFill>();
  let pickSeq = 0;

  // Markers: the engine's signals on this instrument, the desk's orders and their fills.
  const signals = createQuery(() => trpc.signals.list.query({ instrument: inst().symbol, limit: 200 }), {
    pollMs: 10_000,
  });
  const orders = createQuery(
    async () => {
      const list = await trpc.orders.list.query({ symbol: inst().symbol, status: 'all', limit: 200 });
      // Fills of the newest orders that traded (one batched request).
      const traded = list.filter((o) => !/^0*(\.0*)?$/.test(o.filledQuantity)).slice(0, 40);
      const details = await Promise.all(traded.map((o) => trpc.orders.get.query({ id: o.id })));
      return { list, fills: details.flatMap((d) => d.fills) };
    },
    { pollMs: 10_000 },
  );
  const events = createMemo((): ChartEvent[] => {
    const out: ChartEvent[] = [];
    const s = signals.state();
    if (s.status === 'ready') {
      for (const sig of s.data.items) {
        out.push({
          kind: 'signal',
          id: `s:${sig.id}`,
          ts: sig.tsEvent,
          up: sig.direction === 'long',
          text: `${sig.pattern.replace('_', ' ')} ${sig.score.toFixed(2)}`,
        });
      }
    }
    const o = orders.state();
    if (o.status === 'ready') {
      for (const order of o.data.list) {
        out.push({
          kind: 'order',
          id: `o:${order.id}`,
          ts: order.createdAt,
          up: order.side === 'buy',
          price: order.limitPrice,
          text: `${order.side} ${formatDecimal(order.quantity, 4)} ${order.orderType === 'limit' ? 'lmt' : order.orderType}`,
        });
      }
      for (const f of o.data.fills) {
        out.push({
          kind: 'fill',
          id: `f:${f.id}`,
          ts: f.ts,
          up: f.side === 'buy',
          text: `${f.side === 'buy' ? 'B' : 'S'} ${formatDecimal(f.quantity, 4)} @ ${formatDecimal(f.price, decimals())}`,
        });
      }
    }
    return out;
  });

  const dayPct = () => quote()?.dayChangePct;
  return (
    <>
      <div class="instrument-head">
        <div class="instrument-title">
          <h1 class="mono">{inst().symbol}</h1>
          <span class="instrument-name">{inst().name ?? inst().venueSymbol}</span>
          <span class="tag" title="Venue">
            {inst().venue}
          </span>
          <span class="tag">{inst().assetClass}</span>
          <Show when={inst().status !== 'active'}>
            <span class="tag tag-bad">{inst().status}</span>
          </Show>
        </div>
        <div class="instrument-price" aria-live="off">
          {/* No last trade: say so in words rather than a pair of dashes. */}
          <Show
            when={quote()?.last}
            fallback={
              <span class="instrument-last dim" data-last="">
                no trades yet
              </span>
            }
          >
            {(last) => (
              <span class="instrument-last mono" data-last={last()}>
                {formatDecimal(last(), decimals())}
              </span>
            )}
          </Show>
          <Show when={quote()?.dayChange}>
            {(change) => (
              <span
                class={`instrument-change mono ${pnlClass(change())}`}
                title="Change since the UTC day's first trade"
              >
                {formatDecimal(change(), decimals(), { sign: true })}
                <Show when={dayPct() !== null && dayPct() !== undefined}>
                  {' '}
                  ({dayPct()! > 0 ? '+' : dayPct()! < 0 ? '−' : ''}
                  {Math.abs(dayPct()!).toFixed(2)}%)
                </Show>
              </span>
            )}
          </Show>
        </div>
        <QuoteStrip
          quote={quote()}
          decimals={decimals()}
          live={live.live()}
          label={`Quote ${inst().symbol}`}
        />
        <Show when={live.error()}>
          <span class="dim instrument-feed-note" role="status">
            {live.error()}
          </span>
        </Show>
      </div>

      <div class="instrument-grid">
        <div class="instrument-chart">
          <Panel
            title="Chart"
            id="instrument-chart"
            meta={
              <fieldset class="interval-picker">
                <legend class="visually-hidden">Bar interval</legend>
                <For each={PICKER}>
                  {(iv) => (
                    <button
                      type="button"
                      class="interval-btn"
                      aria-pressed={interval() === iv}
                      onClick={() => setSearch({ interval: iv })}
                    >
                      {iv}
                    </button>
                  )}
                </For>
              </fieldset>
            }
            bodyClass="h-price-chart"
            flush
          >
            <PriceChart
              symbol={inst().symbol}
              interval={interval()}
              decimals={decimals()}
              tickSize={inst().tickSize}
              events={events()}
            />
            <ul class="chart-key" aria-label="Chart markers">
              <li>
                <span class="key-swatch key-signal" aria-hidden="true">
                  ▲
                </span>
                signal (pattern, score)
              </li>
              <li>
                <span class="key-swatch key-order" aria-hidden="true">
                  ●
                </span>
                desk order at its limit
              </li>
              <li>
                <span class="key-swatch pos" aria-hidden="true">
                  ▲
                </span>
                <span class="key-swatch neg" aria-hidden="true">
                  ▼
                </span>
                fill
              </li>
            </ul>
          </Panel>
        </div>
        <div class="instrument-ladder">
          <Panel
            title="Order book"
            id="instrument-book"
            meta="Click: price to ticket"
            bodyClass="h-ladder"
            flush
          >
            <BookLadder
              symbol={inst().symbol}
              decimals={decimals()}
              sizeDecimals={sizeDecimals()}
              onPick={(p) => setFill({ price: p.price, side: p.side, symbol: inst().symbol, seq: ++pickSeq })}
            />
          </Panel>
        </div>
        <div class="instrument-side">
          <Show
            when={canTrade()}
            fallback={
              <Panel title="Order ticket" id="instrument-ticket">
                <EmptyState title="Trading needs the trader role">
                  Viewers see prices but cannot place orders.
                </EmptyState>
              </Panel>
            }
          >
            <Panel title="Order ticket" id="instrument-ticket" meta="Checked by the risk governor">
              <OrderTicket symbol={inst().symbol} fill={fill} onPlaced={() => void orders.refetch()} />
            </Panel>
          </Show>
          <Panel
            title="Time and sales"
            id="instrument-tape"
            meta="Venue trades, UTC"
            bodyClass="h-tape"
            flush
          >
            <TimeAndSales symbol={inst().symbol} decimals={decimals()} />
          </Panel>
        </div>
      </div>
    </>
  );
}
