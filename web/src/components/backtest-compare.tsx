import type { BacktestSpec } from '@aegis/shared/schemas/backtest';
import { createEffect, createMemo, Show } from 'solid-js';
import { createQuery } from '../lib/query.ts';
import { type RouterOutputs, trpc } from '../lib/trpc.ts';
import { SERIES_COLORS } from './backtest-detail.tsx';
import { BacktestMetricsTable } from './backtest-metrics.tsx';
import { DataTable } from './data-table/data-table.tsx';
import { EquityDrawdownChart } from './equity-drawdown-chart.tsx';
import { EmptyState, Panel, QueryView } from './panel.tsx';

type Run = RouterOutputs['backtests']['get'];

/** Every leaf of a spec as `path → JSON value`, for a readable difference of two runs. */
function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, '{}');
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, Array.isArray(value) ? value.join(', ') : String(value));
  }
  return out;
}

function specDifferences(a: BacktestSpec, b: BacktestSpec): { path: string; a: string; b: string }[] {
  const fa = flatten(a);
  const fb = flatten(b);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].filter((k) => k !== 'name').sort();
  return keys
    .filter((k) => fa.get(k) !== fb.get(k))
    .map((k) => ({ path: k, a: fa.get(k) ?? '—', b: fb.get(k) ?? '—' }));
}

/**
 * Two finished runs side by side: what differs in their specs, their metrics (the best of each
 * measure marked) with buy-and-hold, and their equity overlaid as return since start (the runs
 * may differ in capital and time range).
 */
export function BacktestCompare(props: { ids: readonly [string, string]; onClose: () => void }) {
  const runs = createQuery(() =>
    Promise.all([
      trpc.backtests.get.query({ id: props.ids[0] }),
      trpc.backtests.get.query({ id: props.ids[1] }),
    ]),
  );
  let shown = false;
  createEffect(() => {
    if (shown || runs.state().status !== 'ready') return;
    shown = true;
    queueMicrotask(() => document.getElementById('bt-compare-title')?.scrollIntoView({ block: 'start' }));
  });
  return (
    <section class="research-section" aria-labelledby="bt-compare-title">
      <div class="bt-run-head">
        <h2 id="bt-compare-title">Comparison</h2>
        <div class="bt-run-actions">
          <button type="button" class="btn btn-sm" onClick={() => props.onClose()}>
            Close comparison
          </button>
        </div>
      </div>
      <QueryView query={runs} errorTitle="Could not load the runs">
        {([a, b]) => <CompareBody a={a} b={b} />}
      </QueryView>
    </section>
  );
}

function CompareBody(props: { a: Run; b: Run }) {
  const diff = createMemo(() => specDifferences(props.a.spec, props.b.spec));
  const label = (r: Run, other: Run) => (r.name === other.name ? `${r.name} (${r.id.slice(0, 8)})` : r.name);
  return (
    <Show
      when={props.a.result && props.b.result ? ([props.a.result, props.b.result] as const) : null}
      fallback={<EmptyState title="Both runs must have finished successfully to be compared" />}
    >
      {(results) => {
        const [ra, rb] = results();
        const sameBenchmark = () => ra.benchmark.totalReturn === rb.benchmark.totalReturn;
        return (
          <div class="research-grid">
            <div class="span-6">
              <Panel title="Equity, overlaid" meta="Return since each run's start">
                <EquityDrawdownChart
                  scale="return"
                  label={`Equity of ${props.a.name} and ${props.b.name}, overlaid`}
                  series={[
                    { label: label(props.a, props.b), color: SERIES_COLORS.run, points: ra.equity },
                    { label: label(props.b, props.a), color: SERIES_COLORS.other, points: rb.equity },
                    {
                      label: sameBenchmark() ? 'Buy-and-hold' : `Buy-and-hold (${props.a.name})`,
                      color: SERIES_COLORS.benchmark,
                      dashed: true,
                      points: ra.equity.map((p) => ({ ts: p.ts, equity: p.benchmark })),
                    },
                  ]}
                />
              </Panel>
            </div>
            <div class="span-6">
              <Panel title="Metrics side by side" meta="Best of the two marked" flush>
                <BacktestMetricsTable
                  markBest
                  caption={`Metrics of ${props.a.name} and ${props.b.name}`}
                  columns={[
                    { label: label(props.a, props.b), metrics: ra.metrics },
                    { label: label(props.b, props.a), metrics: rb.metrics },
                    { label: 'Buy-and-hold', metrics: ra.benchmark, benchmark: true },
                    ...(sameBenchmark()
                      ? []
                      : [
                          { label: `Buy-and-hold (${props.b.name})`, metrics: rb.benchmark, benchmark: true },
                        ]),
                  ]}
                />
              </Panel>
            </div>
            <div class="span-12">
              <Panel title="What differs" meta="Spec fields with different values" flush>
                <DataTable
                  label="Spec differences"
                  class="rt"
                  rows={diff()}
                  empty="Same spec: the two runs should have the same digest"
                  columns={[
                    { id: 'field', header: 'Field', class: 'mono', cell: (d) => d.path },
                    { id: 'a', header: label(props.a, props.b), class: 'mono', wrap: true, cell: (d) => d.a },
                    { id: 'b', header: label(props.b, props.a), class: 'mono', wrap: true, cell: (d) => d.b },
                  ]}
                />
              </Panel>
            </div>
          </div>
        );
      }}
    </Show>
  );
}
