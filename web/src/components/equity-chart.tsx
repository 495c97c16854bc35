import { createMemo, Show } from 'solid-js';
import { formatDecimal, utcTime } from '../lib/decimal-format.ts';

export interface EquitySample {
  readonly ts: Date | string;
  readonly equity: string;
}

const W = 800;
const H = 200;
const PAD = { top: 10, right: 96, bottom: 20, left: 8 };

/** A y in the viewBox as a CSS top inside the figure, whose last 18 px are the time axis. */
const plotTop = (y: number) => `calc((100% - 18px) * ${(y / H).toFixed(4)})`;

/**
 * Equity over time as an SVG line (scales with its box, no chart library). Float conversion is
 * for pixel positions only; every number printed comes from the decimal strings.
 */
export function EquityChart(props: { points: readonly EquitySample[] }) {
  const model = createMemo(() => {
    const pts = props.points
      .map((p) => ({ t: new Date(p.ts).getTime(), v: Number(p.equity), raw: p }))
      .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v))
      .sort((a, b) => a.t - b.t);
    if (pts.length === 0) return null;
    const first = pts[0]!;
    const last = pts[pts.length - 1]!;
    let min = Math.min(...pts.map((p) => p.v));
    let max = Math.max(...pts.map((p) => p.v));
    if (min === max) {
      min -= 1;
      max += 1;
    }
    const t0 = first.t;
    const t1 = last.t === t0 ? t0 + 1 : last.t;
    const x = (t: number) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
    const y = (v: number) => PAD.top + (1 - (v - min) / (max - min)) * (H - PAD.top - PAD.bottom);
    const line = pts
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
      .join('');
    const area = `${line}L${x(last.t).toFixed(1)},${H - PAD.bottom}L${x(first.t).toFixed(1)},${H - PAD.bottom}Z`;
    const maxPoint = pts.reduce((a, b) => (b.v > a.v ? b : a));
    const minPoint = pts.reduce((a, b) => (b.v < a.v ? b : a));
    return {
      line,
      area,
      up: last.v >= first.v,
      first,
      last,
      maxLabel: { y: y(maxPoint.v), text: formatDecimal(maxPoint.raw.equity) },
      minLabel: { y: y(minPoint.v), text: formatDecimal(minPoint.raw.equity) },
      lastY: y(last.v),
      count: pts.length,
    };
  });

  return (
    <Show when={model()}>
      {(m) => (
        <figure class="equity-chart">
          <svg
            viewBox={`0 0 ${W} ${H}`}
            preserveAspectRatio="none"
            role="img"
            aria-labelledby="equity-chart-desc"
          >
            <title id="equity-chart-desc">
              {`Equity from ${formatDecimal(m().first.raw.equity)} at ${utcTime(m().first.raw.ts)} to ${formatDecimal(m().last.raw.equity)} at ${utcTime(m().last.raw.ts)} UTC, ${m().count} samples`}
            </title>
            <defs>
              <linearGradient id="equity-fill" x1="0" x2="0" y1="0" y2="1">
                <stop offset="0%" stop-color={m().up ? '#33c17d' : '#f0585a'} stop-opacity="0.25" />
                <stop offset="100%" stop-color={m().up ? '#33c17d' : '#f0585a'} stop-opacity="0" />
              </linearGradient>
            </defs>
            <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={m().maxLabel.y} y2={m().maxLabel.y} />
            <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={m().minLabel.y} y2={m().minLabel.y} />
            <path d={m().area} fill="url(#equity-fill)" />
            <path
              d={m().line}
              fill="none"
              stroke={m().up ? '#33c17d' : '#f0585a'}
              stroke-width="1.6"
              vector-effect="non-scaling-stroke"
            />
          </svg>
          {/* The plot is the figure less the time axis (18 px): place labels on the plot's scale. */}
          <span class="axis-label axis-label-high" style={{ top: plotTop(m().maxLabel.y) }}>
            {m().maxLabel.text}
          </span>
          <span class="axis-label axis-label-low" style={{ top: plotTop(m().minLabel.y) }}>
            {m().minLabel.text}
          </span>
          <figcaption class="chart-caption">
            <span>{utcTime(m().first.raw.ts, false)}</span>
            <span>{utcTime(m().last.raw.ts, false)} UTC</span>
          </figcaption>
        </figure>
      )}
    </Show>
  );
}
