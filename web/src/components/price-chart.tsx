import { BAR_INTERVAL_SECONDS, type BarInterval } from '@aegis/shared/schemas/market-data';
import type {
  CandlestickData,
  HistogramData,
  IChartApi,
  ISeriesApi,
  ISeriesMarkersPluginApi,
  SeriesMarker,
  Time,
  UTCTimestamp,
} from 'lightweight-charts';
import { createEffect, createSignal, on, onCleanup, onMount, Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal-format.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
import '../market.css';

type Bar = RouterOutputs['marketData']['bars'][number];

/** Something that happened on the instrument, drawn on the candle it fell in. */
export interface ChartEvent {
  readonly kind: 'signal' | 'order' | 'fill';
  readonly ts: string | Date;
  /** buy/long → up, sell/short → down. */
  readonly up: boolean;
  readonly text: string;
  /** Where an order rests (its limit price): the circle is drawn at that price. */
  readonly price?: string | null;
  readonly id: string;
}

/** Console palette (app.css tokens; the canvas cannot read CSS variables). */
const C = {
  bg: '#10141b',
  grid: '#1b212c',
  border: '#232b38',
  text: '#8893a5',
  up: '#33c17d',
  down: '#f0585a',
  signal: '#5b9cff',
  order: '#e9b44c',
} as const;

const seconds = (iso: string | Date) => Math.floor(new Date(iso).getTime() / 1000);

function candleOf(b: Bar): CandlestickData<UTCTimestamp> {
  return {
    time: seconds(b.time) as UTCTimestamp,
    open: Number(b.open),
    high: Number(b.high),
    low: Number(b.low),
    close: Number(b.close),
  };
}

function volumeOf(b: Bar): HistogramData<UTCTimestamp> {
  const up = Number(b.close) >= Number(b.open);
  return {
    time: seconds(b.time) as UTCTimestamp,
    value: Number(b.volume),
    color: up ? 'rgba(51,193,125,0.35)' : 'rgba(240,88,90,0.35)',
  };
}

/** The bar time at or before `t` (markers must sit on a candle that exists). */
function barTimeAtOrBefore(times: readonly number[], t: number): number | null {
  let lo = 0;
  let hi = times.length - 1;
  let found: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= t) {
      found = times[mid]!;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Candles of one instrument with volume beneath, drawn by TradingView's lightweight-charts
 * (loaded in the browser only, on the pages that chart). History from `marketData.bars`, then
 * live from `marketData.onBars`, resumed from the last bar loaded (the server replays from
 * there, so nothing between the query and the stream is lost): the forming candle is updated in
 * place and new candles appended. Signals, the desk's orders and fills are markers on the
 * candle they fell in. `data-bars` / `data-last-*` on the figure expose what is drawn.
 */
export function PriceChart(props: {
  symbol: string;
  interval: BarInterval;
  decimals: number;
  tickSize: string;
  events?: readonly ChartEvent[];
}) {
  let host: HTMLElement | undefined;
  const [count, setCount] = createSignal(0);
  const [last, setLast] = createSignal<Bar>();
  const [hover, setHover] = createSignal<Bar>();
  const [error, setError] = createSignal<string>();
  const [loading, setLoading] = createSignal(true);
  const [markerCount, setMarkerCount] = createSignal(0);

  let chart: IChartApi | undefined;
  let candles: ISeriesApi<'Candlestick', Time> | undefined;
  let volume: ISeriesApi<'Histogram', Time> | undefined;
  let markers: ISeriesMarkersPluginApi<Time> | undefined;
  /** Bar times drawn, ascending, and the bars by time (for the legend). */
  let times: number[] = [];
  const bars = new Map<number, Bar>();
  let generation = 0;
  let subscription: { unsubscribe: () => void } | undefined;
  let disposed = false;
  const [ready, setReady] = createSignal(false);

  const drawMarkers = () => {
    if (!markers) return;
    const list: SeriesMarker<Time>[] = [];
    for (const e of props.events ?? []) {
      const at = barTimeAtOrBefore(times, seconds(e.ts));
      if (at === null) continue;
      const time = at as UTCTimestamp;
      if (e.kind === 'order') {
        const price = e.price ? Number(e.price) : Number.NaN;
        list.push(
          Number.isFinite(price)
            ? {
                time,
                position: 'atPriceMiddle',
                price,
                shape: 'circle',
                color: C.order,
                text: e.text,
                id: e.id,
              }
            : { time, position: 'inBar', shape: 'circle', color: C.order, text: e.text, id: e.id },
        );
      } else {
        const color = e.kind === 'signal' ? C.signal : e.up ? C.up : C.down;
        list.push({
          time,
          position: e.up ? 'belowBar' : 'aboveBar',
          shape: e.up ? 'arrowUp' : 'arrowDown',
          color,
          text: e.text,
          id: e.id,
          size: e.kind === 'signal' ? 1 : 1.3,
        });
      }
    }
    list.sort((a, b) => (a.time as number) - (b.time as number));
    markers.setMarkers(list);
    setMarkerCount(list.length);
  };

  const apply = (b: Bar, initial: boolean) => {
    const t = seconds(b.time);
    const newest = times[times.length - 1];
    // The chart refuses an update older than its last candle: a late bar is dropped.
    if (newest !== undefined && t < newest) return;
    candles!.update(candleOf(b));
    volume!.update(volumeOf(b));
    bars.set(t, b);
    if (newest === undefined || t > newest) {
      times.push(t);
      setCount(times.length);
      if (!initial) drawMarkers();
    }
    setLast(b);
  };

  const load = async (symbol: string, interval: BarInterval) => {
    const mine = ++generation;
    subscription?.unsubscribe();
    subscription = undefined;
    setLoading(true);
    setError(undefined);
    try {
      const history = await trpc.marketData.bars.query({ symbol, interval, limit: 600 });
      if (mine !== generation || disposed) return;
      const sorted = [...history].sort((a, b) => seconds(a.time) - seconds(b.time));
      times = [];
      bars.clear();
      const seen = new Set<number>();
      const uniq = sorted.filter((b) => {
        const t = seconds(b.time);
        if (seen.has(t)) return false;
        seen.add(t);
        return true;
      });
      for (const b of uniq) {
        const t = seconds(b.time);
        times.push(t);
        bars.set(t, b);
      }
      candles!.setData(uniq.map(candleOf));
      volume!.setData(uniq.map(volumeOf));
      setCount(times.length);
      setLast(uniq[uniq.length - 1]);
      chart!.timeScale().applyOptions({ secondsVisible: BAR_INTERVAL_SECONDS[interval] < 60 });
      // A short history fills the width; a long one opens on its newest part.
      if (uniq.length > 0 && uniq.length < 120) chart!.timeScale().fitContent();
      else if (uniq.length > 0) chart!.timeScale().scrollToRealTime();
      drawMarkers();
      setLoading(false);
      const lastTime = uniq[uniq.length - 1]?.time ?? null;
      subscription = trpc.marketData.onBars.subscribe(
        { symbol, interval, lastEventId: lastTime },
        {
          onData: ({ data }) => {
            if (mine !== generation || disposed) return;
            apply(data, false);
            setError(undefined);
          },
          onError: (e) => setError(errorMessageOf(e)),
          onConnectionStateChange: (c) => {
            if (c.state === 'connecting' && c.error) setError('Live bars interrupted; reconnecting');
          },
        },
      );
    } catch (e) {
      if (mine !== generation) return;
      setError(errorMessageOf(e));
      setLoading(false);
    }
  };

  const axisPrice = new Intl.NumberFormat('en-US', {
    minimumFractionDigits: props.decimals,
    maximumFractionDigits: props.decimals,
  });
  onMount(() => {
    void import('lightweight-charts').then((lc) => {
      if (disposed || !host) return;
      chart = lc.createChart(host, {
        autoSize: true,
        layout: {
          background: { type: lc.ColorType.Solid, color: C.bg },
          textColor: C.text,
          fontSize: 11,
          fontFamily: 'JetBrains Mono, ui-monospace, DejaVu Sans Mono, monospace',
        },
        grid: { vertLines: { color: C.grid }, horzLines: { color: C.grid } },
        rightPriceScale: { borderColor: C.border },
        timeScale: { borderColor: C.border, timeVisible: true, rightOffset: 4 },
        crosshair: { mode: lc.CrosshairMode.Normal },
        // Prices on the axis and crosshair as the console prints them (grouped, tick decimals).
        localization: { priceFormatter: (p: number) => axisPrice.format(p) },
      });
      candles = chart.addSeries(lc.CandlestickSeries, {
        upColor: C.up,
        downColor: C.down,
        borderVisible: false,
        wickUpColor: C.up,
        wickDownColor: C.down,
        priceFormat: { type: 'price', precision: props.decimals, minMove: Number(props.tickSize) || 0.01 },
      });
      volume = chart.addSeries(lc.HistogramSeries, {
        priceFormat: { type: 'volume' },
        priceScaleId: 'volume',
        lastValueVisible: false,
        priceLineVisible: false,
      });
      // Volume in the bottom fifth, under the candles, on its own scale.
      chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
      candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.24 } });
      markers = lc.createSeriesMarkers(candles, []);
      chart.subscribeCrosshairMove((param) => {
        const t = typeof param.time === 'number' ? param.time : undefined;
        setHover(t === undefined ? undefined : bars.get(t));
      });
      setReady(true);
    });
  });

  createEffect(
    on([ready, () => props.symbol, () => props.interval], ([isReady, symbol, interval]) => {
      if (isReady) void load(symbol, interval);
    }),
  );
  createEffect(
    on(
      () => props.events,
      () => drawMarkers(),
      { defer: true },
    ),
  );

  onCleanup(() => {
    disposed = true;
    generation++;
    subscription?.unsubscribe();
    chart?.remove();
  });

  const legend = () => hover() ?? last();
  const p = (v: string | undefined) => (v ? formatDecimal(v, props.decimals) : '—');
  return (
    <figure
      class="price-chart"
      data-bars={count()}
      data-last-time={last()?.time ?? ''}
      data-last-close={last()?.close ?? ''}
      data-interval={props.interval}
      data-markers={markerCount()}
      aria-label={`Candles of ${props.symbol}, ${props.interval} bars, UTC`}
    >
      <Show when={legend()}>
        {(b) => (
          <div class="chart-legend mono" aria-hidden="true">
            <span class="dim">{new Date(b().time).toISOString().slice(0, 19).replace('T', ' ')}</span>
            <span>
              O <b>{p(b().open)}</b>
            </span>
            <span>
              H <b>{p(b().high)}</b>
            </span>
            <span>
              L <b>{p(b().low)}</b>
            </span>
            <span>
              C <b class={Number(b().close) >= Number(b().open) ? 'pos' : 'neg'}>{p(b().close)}</b>
            </span>
            <span>
              V <b>{formatDecimal(b().volume, 4)}</b>
            </span>
          </div>
        )}
      </Show>
      {/* Not role="img": the chart library puts a link (its attribution) inside the host. */}
      <section class="chart-host" ref={host} aria-label={`Price chart of ${props.symbol}`} />
      <Show when={!loading() && count() === 0 && !error()}>
        <div class="chart-overlay" role="status">
          No {props.interval} bars yet for {props.symbol}: candles appear as the venue trades.
        </div>
      </Show>
      <Show when={error()}>
        <div class="chart-overlay chart-overlay-error" role="status">
          {error()}
        </div>
      </Show>
      <figcaption class="visually-hidden">
        {count()} {props.interval} candles of {props.symbol}
        {last() ? `, last close ${last()!.close} at ${last()!.time}` : ''}
      </figcaption>
    </figure>
  );
}
