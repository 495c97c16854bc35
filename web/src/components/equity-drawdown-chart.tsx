import { createMemo, createSignal, For, Show } from 'solid-js';
import { formatDecimal, utcTime } from '../lib/decimal-format.ts';
import { formatPercent } from '../lib/metric-format.ts';

/**
 * Backtest equity over time with its drawdown underneath, as SVG (no chart library, like
 * equity-chart.tsx: a few thousand points, drawn client-side after hydration, nothing to load).
 * Several series share the axes: a run and its buy-and-hold benchmark, or two runs compared.
 * Two runs compared may cover different times or capital, so `scale: 'return'` plots each
 * series' return since its own start against the time elapsed since its own start.
 *
 * Float conversion is for pixel positions only; the labels and the hover readout print the
 * decimal strings the server sent.
 */
export interface ChartSeries {
  readonly label: string;
  /** A CSS colour (the series' line and legend swatch). */
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly { ts: string; equity: string; drawdown?: number }[];
}

const W = 800;
const EQ_H = 220;
const DD_H = 90;
const PAD = { top: 10, right: 8, bottom: 6, left: 8 };
/** Above this many points a series is thinned to per-column min/max (the line looks the same). */
const MAX_POINTS = 1600;

interface Projected {
  readonly t: number;
  readonly v: number;
  readonly dd: number | null;
  readonly ts: string;
  readonly equity: string;
}

function project(series: ChartSeries, scale: 'equity' | 'return'): Projected[] {
  const pts: Projected[] = [];
  for (const p of series.points) {
    const t = new Date(p.ts).getTime();
    const e = Number(p.equity);
    if (!Number.isFinite(t) || !Number.isFinite(e)) continue;
    pts.push({ t, v: e, dd: typeof p.drawdown === 'number' ? p.drawdown : null, ts: p.ts, equity: p.equity });
  }
  pts.sort((a, b) => a.t - b.t);
  if (pts.length === 0) return pts;
  const t0 = pts[0]!.t;
  const v0 = pts[0]!.v;
  let peak = Number.NEGATIVE_INFINITY;
  return pts.map((p) => {
    peak = Math.max(peak, p.v);
    return {
      ...p,
      t: p.t - t0,
      v: scale === 'return' ? (v0 === 0 ? 0 : p.v / v0 - 1) : p.v,
      // Drawdown from the series' own running peak where the server sent none (benchmark).
      dd: p.dd ?? (peak > 0 ? p.v / peak - 1 : 0),
    };
  });
}

/** Keeps the first, last, and per-bucket min and max, in time order. */
function thin(pts: Projected[]): Projected[] {
  if (pts.length <= MAX_POINTS) return pts;
  const buckets = MAX_POINTS / 2;
  const size = pts.length / buckets;
  const out: Projected[] = [pts[0]!];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(pts.length, Math.floor((b + 1) * size));
    let lo = pts[from]!;
    let hi = pts[from]!;
    for (let i = from; i < to; i++) {
      const p = pts[i]!;
      if (p.v < lo.v) lo = p;
      if (p.v > hi.v) hi = p;
    }
    if (lo.t <= hi.t) out.push(lo, hi);
    else out.push(hi, lo);
  }
  out.push(pts[pts.length - 1]!);
  return out;
}

function pathOf(pts: readonly Projected[], x: (t: number) => number, y: (v: number) => number): string {
  return pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
}

/** One series' line (solid, or dashed for a benchmark), the same stroke width at any zoom. */
function SeriesPath(props: {
  d: string;
  series: { color: string; dashed?: boolean | undefined };
  width: string;
}) {
  return (
    <path
      d={props.d}
      fill="none"
      stroke={props.series.color}
      stroke-width={props.width}
      stroke-dasharray={props.series.dashed ? '5 4' : undefined}
      vector-effect="non-scaling-stroke"
    />
  );
}

/** The hover cursor: a vertical line at `at` (svg x), none while nothing is hovered. */
function Cursor(props: { at: number | null; height: number }) {
  return (
    <Show when={props.at !== null}>
      <line class="bt-cursor" x1={props.at ?? 0} x2={props.at ?? 0} y1={0} y2={props.height} />
    </Show>
  );
}

export function EquityDrawdownChart(props: {
  series: readonly ChartSeries[];
  scale?: 'equity' | 'return';
  /** Accessible name of the figure, e.g. "Equity of run X against buy-and-hold". */
  label: string;
}) {
  const scale = () => props.scale ?? 'equity';
  const [hover, setHover] = createSignal<number | null>(null);
  let frame: HTMLDivElement | undefined;

  const model = createMemo(() => {
    const all = props.series.map((s) => ({ s, pts: project(s, scale()) })).filter((x) => x.pts.length > 0);
    if (all.length === 0) return null;
    const span = Math.max(1, ...all.map((x) => x.pts[x.pts.length - 1]!.t));
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let ddMin = 0;
    for (const { pts } of all) {
      for (const p of pts) {
        min = Math.min(min, p.v);
        max = Math.max(max, p.v);
        ddMin = Math.min(ddMin, -Math.abs(p.dd ?? 0));
      }
    }
    if (min === max) {
      const pad = scale() === 'return' ? 0.01 : Math.max(1, Math.abs(min) * 0.001);
      min -= pad;
      max += pad;
    }
    if (ddMin === 0) ddMin = -0.01;
    const x = (t: number) => PAD.left + (t / span) * (W - PAD.left - PAD.right);
    const y = (v: number) => PAD.top + (1 - (v - min) / (max - min)) * (EQ_H - PAD.top - PAD.bottom);
    const yd = (d: number) => 2 + (-Math.abs(d) / ddMin) * (DD_H - 4);
    const lines = all.map(({ s, pts }) => {
      const drawn = thin(pts);
      const ddPath = `${drawn.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${yd(p.dd ?? 0).toFixed(1)}`).join('')}`;
      return {
        s,
        pts,
        line: pathOf(drawn, x, y),
        ddLine: ddPath,
        ddArea: `${ddPath}L${x(drawn[drawn.length - 1]!.t).toFixed(1)},2L${x(drawn[0]!.t).toFixed(1)},2Z`,
      };
    });
    const label = (v: number) =>
      scale() === 'return' ? formatPercent(v, 1, { sign: true }) : formatDecimal(String(v.toFixed(2)), 0);
    const first = all[0]!.pts[0]!;
    const last = all[0]!.pts[all[0]!.pts.length - 1]!;
    return {
      lines,
      span,
      x,
      yTop: { y: y(max), text: label(max) },
      yBottom: { y: y(min), text: label(min) },
      yZero: scale() === 'return' && min < 0 && max > 0 ? y(0) : null,
      ddMinLabel: formatPercent(ddMin, 1),
      first,
      last,
    };
  });

  /** Where the hover cursor stands (svg x), null while the pointer is away. */
  const cursorX = () => {
    const m = model();
    const h = hover();
    return m && h !== null ? m.x(h * m.span) : null;
  };

  /** Nearest sample of each series to the pointer's elapsed time. */
  const readout = createMemo(() => {
    const m = model();
    const h = hover();
    if (!m || h === null) return null;
    const t = h * m.span;
    return m.lines.map(({ s, pts }) => {
      let lo = 0;
      let hi = pts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (pts[mid]!.t < t) lo = mid + 1;
        else hi = mid;
      }
      return { s, p: pts[lo]! };
    });
  });

  const onMove = (event: PointerEvent) => {
    // Measured on the drawing, not its frame (the frame's right padding holds the axis labels).
    const svg = frame?.querySelector('svg');
    if (!svg) return;
    const box = svg.getBoundingClientRect();
    const inner = box.width * ((W - PAD.left - PAD.right) / W);
    const f = (event.clientX - box.left - box.width * (PAD.left / W)) / inner;
    setHover(Math.min(1, Math.max(0, f)));
  };

  return (
    <Show when={model()}>
      {(m) => (
        <figure class="bt-chart" aria-label={props.label}>
          <ul class="bt-legend">
            <For each={m().lines}>
              {(l, i) => (
                <li>
                  <span
                    class="bt-swatch"
                    data-dashed={l.s.dashed ? 'true' : undefined}
                    style={{ 'border-color': l.s.color }}
                  />
                  {l.s.label}
                  {/* Under the pointer: this series' value and drawdown at the nearest sample. */}
                  <Show when={readout()?.[i()]}>
                    {(x) => (
                      <span class="bt-readout mono" aria-hidden="true">
                        {scale() === 'return'
                          ? formatPercent(x().p.v, 2, { sign: true })
                          : formatDecimal(x().p.equity)}{' '}
                        ({formatPercent(-Math.abs(x().p.dd ?? 0), 1)})
                      </span>
                    )}
                  </Show>
                </li>
              )}
            </For>
            <li class="bt-legend-note">{scale() === 'return' ? 'Return since start' : 'Equity'}</li>
          </ul>
          <div
            class="bt-chart-frame"
            ref={frame}
            onPointerMove={onMove}
            onPointerLeave={() => setHover(null)}
          >
            <svg
              class="bt-equity"
              viewBox={`0 0 ${W} ${EQ_H}`}
              preserveAspectRatio="none"
              role="img"
              aria-label={`${props.label}: from ${formatDecimal(m().first.equity)} at ${utcTime(m().first.ts)} to ${formatDecimal(m().last.equity)} at ${utcTime(m().last.ts)} UTC`}
            >
              <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={m().yTop.y} y2={m().yTop.y} />
              <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={m().yBottom.y} y2={m().yBottom.y} />
              <Show when={m().yZero}>
                {(z) => <line class="grid zero" x1={PAD.left} x2={W - PAD.right} y1={z()} y2={z()} />}
              </Show>
              <For each={m().lines}>{(l) => <SeriesPath d={l.line} series={l.s} width="1.6" />}</For>
              <Cursor at={cursorX()} height={EQ_H} />
            </svg>
            <Show when={readout()?.[0]}>
              {(x) => (
                <span class="bt-cursor-time mono" aria-hidden="true">
                  {utcTime(x().p.ts)} UTC
                </span>
              )}
            </Show>
            <span class="axis-label axis-label-high" style={{ top: `${(m().yTop.y / EQ_H) * 100}%` }}>
              {m().yTop.text}
            </span>
            <span class="axis-label axis-label-low" style={{ top: `${(m().yBottom.y / EQ_H) * 100}%` }}>
              {m().yBottom.text}
            </span>
          </div>
          <span class="bt-dd-title" aria-hidden="true">
            Drawdown
          </span>
          <div class="bt-dd-frame">
            <svg
              class="bt-drawdown"
              viewBox={`0 0 ${W} ${DD_H}`}
              preserveAspectRatio="none"
              role="img"
              aria-label={`Drawdown, deepest ${m().ddMinLabel}`}
            >
              <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={2} y2={2} />
              <For each={m().lines}>
                {(l, i) => (
                  <>
                    <Show when={i() === 0}>
                      <path d={l.ddArea} fill={l.s.color} fill-opacity="0.16" />
                    </Show>
                    <SeriesPath d={l.ddLine} series={l.s} width="1.2" />
                  </>
                )}
              </For>
              <Cursor at={cursorX()} height={DD_H} />
            </svg>
            <span class="axis-label axis-label-low" style={{ top: '100%' }}>
              {m().ddMinLabel}
            </span>
          </div>
          <figcaption class="chart-caption">
            <span>{utcTime(m().first.ts, false)}</span>
            <span>
              {scale() === 'return'
                ? `${utcTime(m().last.ts, false)} UTC (first run)`
                : `${utcTime(m().last.ts, false)} UTC`}
            </span>
          </figcaption>
        </figure>
      )}
    </Show>
  );
}
