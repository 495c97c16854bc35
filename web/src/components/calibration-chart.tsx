import type { SignalQualityRow } from '@aegis/shared/schemas/signal-quality';
import { createMemo, For, Show } from 'solid-js';
import { formatCount, formatPercent } from '../lib/metric-format.ts';

const S = 200;
const PAD = { left: 36, right: 8, top: 8, bottom: 26 };
const INNER = S - PAD.left - PAD.right;
const INNER_H = S - PAD.top - PAD.bottom;

/**
 * Reliability diagram of the engine's score: per score bin, how often its signals were right
 * against the bin's mean score. On the diagonal a score of 0.7 is right 70 % of the time. Dot
 * area grows with the bin's signal count; empty bins are left out. The same numbers are in a
 * visually hidden table for screen readers.
 */
export function CalibrationChart(props: { bins: SignalQualityRow['calibration']; label: string }) {
  const x = (v: number) => PAD.left + v * INNER;
  const y = (v: number) => PAD.top + (1 - v) * INNER_H;
  const dots = createMemo(() => {
    const filled = props.bins.filter((b) => b.n > 0 && b.meanScore !== null && b.hitRate !== null);
    const most = Math.max(1, ...filled.map((b) => b.n));
    return filled.map((b) => ({
      b,
      cx: x(Math.min(1, Math.max(0, b.meanScore!))),
      cy: y(Math.min(1, Math.max(0, b.hitRate!))),
      r: 2 + 5 * Math.sqrt(b.n / most),
    }));
  });
  const line = () =>
    dots()
      .map((d, i) => `${i === 0 ? 'M' : 'L'}${d.cx.toFixed(1)},${d.cy.toFixed(1)}`)
      .join('');
  const ticks = [0, 0.5, 1];
  return (
    <figure class="sq-calibration">
      <Show
        when={dots().length > 0}
        fallback={<p class="dim">No scored signals: calibration is not defined for this source.</p>}
      >
        <svg viewBox={`0 0 ${S} ${S}`} role="img" aria-label={props.label}>
          <rect class="sq-cal-frame" x={PAD.left} y={PAD.top} width={INNER} height={INNER_H} />
          <For each={ticks}>
            {(t) => (
              <>
                <text class="sq-cal-tick" x={x(t)} y={S - PAD.bottom + 11} text-anchor="middle">
                  {t}
                </text>
                <text class="sq-cal-tick" x={PAD.left - 4} y={y(t) + 3} text-anchor="end">
                  {t}
                </text>
              </>
            )}
          </For>
          <text class="sq-cal-axis" x={PAD.left + INNER / 2} y={S - 3} text-anchor="middle">
            score
          </text>
          <text
            class="sq-cal-axis"
            x={8}
            y={PAD.top + INNER_H / 2}
            text-anchor="middle"
            transform={`rotate(-90 8 ${PAD.top + INNER_H / 2})`}
          >
            right
          </text>
          <line class="sq-cal-diagonal" x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} />
          <path class="sq-cal-line" d={line()} />
          <For each={dots()}>
            {(d) => (
              <circle class="sq-cal-dot" cx={d.cx} cy={d.cy} r={d.r}>
                <title>{`score ${d.b.from}–${d.b.to}: ${formatCount(d.b.n)} signals, right ${formatPercent(d.b.hitRate, 1)}`}</title>
              </circle>
            )}
          </For>
        </svg>
        <table class="visually-hidden">
          <caption>{props.label}</caption>
          <thead>
            <tr>
              <th scope="col">Score bin</th>
              <th scope="col">Signals</th>
              <th scope="col">Mean score</th>
              <th scope="col">Right</th>
            </tr>
          </thead>
          <tbody>
            <For each={props.bins}>
              {(b) => (
                <tr>
                  <td>
                    {b.from}–{b.to}
                  </td>
                  <td>{b.n}</td>
                  <td>{b.meanScore === null ? '—' : b.meanScore.toFixed(3)}</td>
                  <td>{formatPercent(b.hitRate, 1)}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </Show>
    </figure>
  );
}
