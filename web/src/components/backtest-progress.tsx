import type { BacktestStatus, BacktestProgress as Progress } from '@aegis/shared/schemas/backtest';
import { Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal-format.ts';
import { formatCount, formatDuration, formatPercent, formatRate } from '../lib/metric-format.ts';

/** Simulated time as stored (ISO with µs): shown to the millisecond, UTC. */
function simClock(iso: string | null): string {
  if (!iso) return '—';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/** A fraction a <progress> accepts: finite, in [0, 1] (anything else throws in the browser). */
const finiteFraction = (f: number | undefined): number =>
  f !== undefined && Number.isFinite(f) ? Math.min(1, Math.max(0, f)) : 0;

/**
 * A running backtest's progress as its worker reports it (about twice a second): a progress bar
 * (determinate when the total is known), ticks, simulated clock, throughput, ETA and the counts
 * so far. The bar is a native <progress> so assistive technology reads its value.
 */
export function BacktestProgressBar(props: { progress: Progress | null; status: BacktestStatus }) {
  const p = () => props.progress;
  const percent = () => formatPercent(p()?.fraction ?? 0, 1);
  return (
    <div class="bt-progress" data-status={props.status}>
      <div class="bt-progress-head">
        <span class="bt-progress-pct mono">{props.status === 'queued' ? 'queued' : percent()}</span>
        {/* Queued: an indeterminate bar, which has no value at all. Setting a <progress>'s value
            property to undefined (NaN) throws, and the page's error boundary took the view down. */}
        <Show
          when={props.status !== 'queued'}
          fallback={
            <progress
              class="bt-bar"
              max={1}
              aria-label="Backtest progress"
              aria-valuetext="Queued, waiting for a worker"
            />
          }
        >
          <progress
            class="bt-bar"
            max={1}
            value={finiteFraction(p()?.fraction)}
            aria-label="Backtest progress"
            aria-valuetext={`${percent()} done`}
          />
        </Show>
        <span class="bt-progress-eta mono" title="Estimated time to completion">
          ETA {formatDuration(p()?.etaSeconds)}
        </span>
      </div>
      <Show when={p()}>
        {(x) => (
          <dl class="tile-grid bt-stats">
            <div>
              <dt>Ticks</dt>
              <dd>
                {formatCount(x().ticks)}
                <Show when={x().totalTicks !== null}>
                  <span class="dim"> / {formatCount(x().totalTicks)}</span>
                </Show>
              </dd>
            </div>
            <div>
              <dt>Simulated time</dt>
              <dd>{simClock(x().simTime)}</dd>
            </div>
            <div>
              <dt>Ticks/s</dt>
              <dd>{formatRate(x().ticksPerSecond)}</dd>
            </div>
            <div>
              <dt>Signals</dt>
              <dd>{formatCount(x().signals)}</dd>
            </div>
            <div>
              <dt>Orders · fills</dt>
              <dd>
                {formatCount(x().orders)} · {formatCount(x().fills)}
              </dd>
            </div>
            <div>
              <dt>Equity</dt>
              <dd>{formatDecimal(x().equity)}</dd>
            </div>
          </dl>
        )}
      </Show>
    </div>
  );
}
