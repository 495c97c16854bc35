import type { BacktestProgress, BacktestResult, BacktestStatus } from '@aegis/shared/schemas/backtest';
import { createEffect, createSignal, on, onCleanup, Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal-format.ts';
import { formatCount, formatDuration, formatPercent, formatRatio } from '../lib/metric-format.ts';
import { createQuery } from '../lib/query.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { BacktestMetricsTable } from './backtest-metrics.tsx';
import { BacktestProgressBar } from './backtest-progress.tsx';
import { ACTIVE, STATUS_TONE } from './backtest-runs.tsx';
import { AttributionTable, TradesTable } from './backtest-trades.tsx';
import { EquityDrawdownChart } from './equity-drawdown-chart.tsx';
import { ErrorAlert } from './error-alert.tsx';
import { EmptyState, Panel, QueryView } from './panel.tsx';

type Run = RouterOutputs['backtests']['get'];

export const SERIES_COLORS = { run: '#5b9cff', benchmark: '#8893a5', other: '#e9b44c' } as const;

/** The spec in one line: what was replayed, with which money and settings. */
export function SpecLine(props: { run: Run }) {
  const s = () => props.run.spec;
  const data = () => {
    const d = s().data;
    if (d.kind === 'simulation')
      return `simulation, ${formatCount(d.symbols)} symbols, ${formatCount(d.ticks)} ticks`;
    if (d.kind === 'ticks_table')
      return `ticks ${d.from.slice(0, 19).replace('T', ' ')} → ${d.to.slice(0, 19).replace('T', ' ')} UTC`;
    return `uploaded file ${d.uploadId.slice(0, 8)}`;
  };
  return (
    <p class="bt-spec">
      <span>
        <b>Data</b> {data()}
      </span>
      <span title={s().instruments.join(', ')}>
        <b>Instruments</b> {s().instruments.slice(0, 6).join(', ')}
        {s().instruments.length > 6 ? ` +${s().instruments.length - 6}` : ''}
      </span>
      <span>
        <b>Capital</b> {formatDecimal(s().capital)}
      </span>
      <span>
        <b>Seed</b> {s().seed}
      </span>
      <span>
        <b>Agent</b> {s().agent.decider} · {s().agent.riskPreset} · {s().agent.maxProposalsPerHour}/h · hold{' '}
        {formatDuration(s().agent.minHoldingSeconds)}
      </span>
      <span>
        <b>Execution</b> feed {formatCount(s().execution.feedLatencyUs)} µs · order{' '}
        {formatCount(s().execution.orderLatencyUs)} µs · fees {s().execution.takerFeeBps}/
        {s().execution.makerFeeBps} bps · {s().execution.queuePosition ? 'queue position' : 'fill at touch'}
      </span>
      <Show when={Object.keys(s().detectors).length > 0}>
        <span>
          <b>Detectors</b>{' '}
          {Object.entries(s().detectors)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}
        </span>
      </Show>
    </p>
  );
}

/** Headline numbers of a finished run. */
function ResultKpis(props: { result: BacktestResult }) {
  const m = () => props.result.metrics;
  const finalEquity = () => props.result.equity[props.result.equity.length - 1]?.equity ?? null;
  return (
    <dl class="kpi-strip bt-kpis" aria-label="Backtest result summary">
      <div class="kpi">
        <dt>Final equity</dt>
        <dd>{formatDecimal(finalEquity())}</dd>
      </div>
      <div class="kpi">
        <dt>Total return</dt>
        <dd class={m().totalReturn > 0 ? 'pos' : m().totalReturn < 0 ? 'neg' : ''}>
          {formatPercent(m().totalReturn, 2, { sign: true })}
        </dd>
      </div>
      <div class="kpi">
        <dt>Buy-and-hold</dt>
        <dd class="dim">{formatPercent(props.result.benchmark.totalReturn, 2, { sign: true })}</dd>
      </div>
      <div class="kpi">
        <dt>Sharpe</dt>
        <dd>{formatRatio(m().sharpe)}</dd>
      </div>
      <div class="kpi">
        <dt>Max drawdown</dt>
        <dd class={m().maxDrawdown !== 0 ? 'neg' : ''}>{formatPercent(-Math.abs(m().maxDrawdown), 2)}</dd>
      </div>
      <div class="kpi">
        <dt>Trades · fees</dt>
        <dd>
          {formatCount(m().trades)} · {formatDecimal(m().fees)}
        </dd>
      </div>
    </dl>
  );
}

/** A finished run's results: KPIs, equity and drawdown, metrics vs buy-and-hold, attribution, trades. */
export function BacktestResultView(props: { run: Run; result: BacktestResult }) {
  return (
    <>
      <ResultKpis result={props.result} />
      <div class="research-grid">
        <div class="span-7">
          <Panel title="Equity and drawdown" meta="Simulated time, UTC">
            <EquityDrawdownChart
              label={`Equity of ${props.run.name} against buy-and-hold`}
              series={[
                { label: props.run.name, color: SERIES_COLORS.run, points: props.result.equity },
                {
                  label: 'Buy-and-hold',
                  color: SERIES_COLORS.benchmark,
                  dashed: true,
                  points: props.result.equity.map((p) => ({ ts: p.ts, equity: p.benchmark })),
                },
              ]}
            />
          </Panel>
        </div>
        <div class="span-5">
          <Panel title="Against buy-and-hold" meta="Same instruments, capital and data" flush>
            <BacktestMetricsTable
              caption={`Metrics of ${props.run.name} against buy-and-hold`}
              columns={[
                { label: 'Strategy', metrics: props.result.metrics },
                { label: 'Buy-and-hold', metrics: props.result.benchmark, benchmark: true },
              ]}
            />
          </Panel>
        </div>
        <div class="span-5">
          <Panel title="Per-pattern attribution" meta={`Model ${props.result.modelVersion}`} flush>
            <AttributionTable rows={props.result.attribution} />
          </Panel>
        </div>
        <div class="span-7">
          <Panel
            title="Trades"
            meta={`${formatCount(props.result.ticks)} ticks · ${formatCount(props.result.signals)} signals`}
            flush
          >
            <TradesTable orders={props.result.orders} fills={props.result.fills} />
          </Panel>
        </div>
      </div>
      <p class="dim bt-digest" title="sha-256 of the result: the same spec and seed give the same digest">
        Result digest <span class="mono">{props.result.digest}</span>
      </p>
    </>
  );
}

/**
 * One backtest (the page mounts a new one per id): its spec, live progress while queued or running (the `backtests.progress`
 * subscription, SSE), cancel, and its results once it succeeded (or its error).
 */
export function BacktestDetail(props: { id: string; canRun: boolean; onChanged: () => void }) {
  const run = createQuery(() => trpc.backtests.get.query({ id: props.id }));
  const [live, setLive] = createSignal<{ status: BacktestStatus; progress: BacktestProgress | null }>();
  const [cancelError, setCancelError] = createSignal<string>();
  const [cancelling, setCancelling] = createSignal(false);

  // Opened from the list or a link: bring it into view once it has loaded (the form is above it).
  let shown = false;
  createEffect(() => {
    if (shown || run.state().status !== 'ready') return;
    shown = true;
    queueMicrotask(() => document.getElementById('bt-run-title')?.scrollIntoView({ block: 'start' }));
  });

  /**
   * The live stream's status while the run is active; a terminal status read from the row wins
   * (a refetch can see the end before the stream does, and then the stream is closed).
   */
  const status = (): BacktestStatus | undefined => {
    const s = run.state();
    const row = s.status === 'ready' ? s.data.status : undefined;
    if (row && !ACTIVE.has(row)) return row;
    return live()?.status ?? row;
  };

  /** The live progress first: the run as loaded may predate its first progress. */
  const progress = (): BacktestProgress | null => {
    const s = run.state();
    return live()?.progress ?? (s.status === 'ready' ? s.data.progress : null);
  };

  // While the run is queued or running, follow its progress; at its end, load the result.
  createEffect(
    on(
      () => {
        const s = run.state();
        return s.status === 'ready' && ACTIVE.has(s.data.status) ? s.data.id : null;
      },
      (id) => {
        if (!id) return;
        const subscription = trpc.backtests.progress.subscribe(
          { id },
          {
            // Tracked events (id `<status>:<ticks>`): the payload is in `data`.
            onData: ({ data: e }) => {
              setLive({ status: e.status, progress: e.progress });
              if (!ACTIVE.has(e.status)) {
                void run.refetch();
                props.onChanged();
              }
            },
          },
        );
        onCleanup(() => subscription.unsubscribe());
      },
    ),
  );

  const cancel = async (id: string) => {
    setCancelling(true);
    setCancelError(undefined);
    try {
      await trpc.backtests.cancel.mutate({ id });
      await run.refetch();
      props.onChanged();
    } catch (e) {
      setCancelError(errorMessageOf(e));
    } finally {
      setCancelling(false);
    }
  };

  return (
    <QueryView query={run} errorTitle="Could not load this backtest">
      {(r) => (
        <section class="research-section" aria-labelledby="bt-run-title" data-backtest={r.id}>
          <div class="bt-run-head">
            <h2 id="bt-run-title">{r.name}</h2>
            <span class={`tag ${STATUS_TONE[status() ?? r.status]}`} data-testid="bt-status">
              {status() ?? r.status}
            </span>
            <div class="bt-run-actions">
              <Show when={props.canRun && ACTIVE.has(status() ?? r.status)}>
                <button
                  type="button"
                  class="btn btn-sm btn-danger"
                  disabled={cancelling()}
                  onClick={() => void cancel(r.id)}
                >
                  {cancelling() ? 'Cancelling…' : 'Cancel backtest'}
                </button>
              </Show>
            </div>
          </div>
          <SpecLine run={r} />
          <ErrorAlert message={cancelError()} />
          <Show when={ACTIVE.has(status() ?? r.status)}>
            <Panel title="Progress" meta="Live from the backtest worker">
              <BacktestProgressBar status={status() ?? r.status} progress={progress()} />
            </Panel>
          </Show>
          <Show when={(status() ?? r.status) === 'failed'}>
            <ErrorAlert message={`Backtest failed: ${r.error ?? 'no reason recorded'}`} />
          </Show>
          <Show when={(status() ?? r.status) === 'cancelled'}>
            <EmptyState title="Cancelled">
              <Show when={progress()} fallback="Stopped before it started.">
                {(p) => `Stopped after ${formatCount(p().ticks)} ticks.`}
              </Show>
            </EmptyState>
          </Show>
          <Show when={r.status === 'succeeded' && r.result}>
            {(result) => <BacktestResultView run={r} result={result()} />}
          </Show>
        </section>
      )}
    </QueryView>
  );
}
