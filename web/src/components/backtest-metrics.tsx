import type { BacktestMetrics } from '@aegis/shared/schemas/backtest';
import { formatDecimal } from '../lib/decimal-format.ts';
import { formatCount, formatDuration, formatPercent, formatRatio } from '../lib/metric-format.ts';
import { DataTable } from './data-table/data-table.tsx';

interface MetricRow {
  readonly key: keyof BacktestMetrics;
  readonly label: string;
  readonly format: (m: BacktestMetrics) => string;
  /** Which way is better, for marking the best column; none for descriptive measures. */
  readonly better?: 'higher' | 'lower';
  /** The number compared (null: not comparable). */
  readonly value?: (m: BacktestMetrics) => number | null;
}

/** Drawdown may arrive as a negative or a positive fraction: compare and show its depth. */
const depth = (m: BacktestMetrics) => Math.abs(m.maxDrawdown);

/** The measures that are a number or null (the ones runs are compared on). */
type ComparableKey = {
  [K in keyof BacktestMetrics]: BacktestMetrics[K] extends number | null ? K : never;
}[keyof BacktestMetrics];

/** A measure shown and compared as its own field. */
function compared(
  key: ComparableKey,
  label: string,
  show: (value: BacktestMetrics[ComparableKey]) => string,
  better: 'higher' | 'lower' = 'higher',
): MetricRow {
  return { key, label, format: (m) => show(m[key]), better, value: (m) => m[key] };
}

const signedPercent = (v: number | null) => formatPercent(v, 2, { sign: true });
const percent1 = (v: number | null) => formatPercent(v, 1);

const ROWS: readonly MetricRow[] = [
  compared('totalReturn', 'Total return', signedPercent),
  compared('annualizedReturn', 'Annualized return', signedPercent),
  compared('sharpe', 'Sharpe', formatRatio),
  compared('sortino', 'Sortino', formatRatio),
  {
    key: 'maxDrawdown',
    label: 'Max drawdown',
    format: (m) => formatPercent(-depth(m), 2),
    better: 'lower',
    value: depth,
  },
  compared('maxDrawdownDurationSeconds', 'Max drawdown duration', formatDuration, 'lower'),
  compared('calmar', 'Calmar', formatRatio),
  compared('winRate', 'Win rate', percent1),
  compared('profitFactor', 'Profit factor', formatRatio),
  { key: 'exposure', label: 'Exposure (time in market)', format: (m) => percent1(m.exposure) },
  { key: 'turnover', label: 'Turnover', format: (m) => `${formatRatio(m.turnover)}×` },
  { key: 'fees', label: 'Fees', format: (m) => formatDecimal(m.fees) },
  { key: 'trades', label: 'Trades', format: (m) => formatCount(m.trades) },
];

/**
 * Performance measures side by side: a run against buy-and-hold of the same instruments on the
 * same data, or two runs (and their benchmarks) compared. With `markBest`, the best value of each
 * comparable row among the non-benchmark columns is marked (text, not only colour).
 */
export function BacktestMetricsTable(props: {
  columns: readonly { label: string; metrics: BacktestMetrics; benchmark?: boolean }[];
  caption: string;
  markBest?: boolean;
}) {
  const best = (row: MetricRow): number | null => {
    if (!props.markBest || !row.better || !row.value) return null;
    const candidates = props.columns
      .map((c, i) => ({ i, v: c.benchmark ? null : row.value!(c.metrics) }))
      .filter((c): c is { i: number; v: number } => c.v !== null && Number.isFinite(c.v));
    if (candidates.length < 2) return null;
    const sorted = [...candidates].sort((a, b) => (row.better === 'higher' ? b.v - a.v : a.v - b.v));
    return sorted[0]!.v === sorted[1]!.v ? null : sorted[0]!.i;
  };
  return (
    <DataTable
      label={props.caption}
      class="rt bt-metrics"
      rows={ROWS}
      rowAttrs={(row) => ({ 'data-metric': row.key })}
      columns={[
        { id: 'measure', header: 'Measure', rowHeader: true, cell: (row) => row.label },
        ...props.columns.map((c, i) => ({
          id: `column-${i}`,
          header: c.label,
          numeric: true,
          headerClass: c.benchmark ? 'bt-bench-col' : '',
          class: (row: MetricRow) =>
            [
              c.benchmark ? 'bt-bench-col' : '',
              best(row) === i ? 'bt-best' : '',
              row.key === 'totalReturn' && c.metrics.totalReturn > 0 ? 'pos' : '',
              row.key === 'totalReturn' && c.metrics.totalReturn < 0 ? 'neg' : '',
            ]
              .filter(Boolean)
              .join(' '),
          cell: (row: MetricRow) => (
            <>
              {row.format(c.metrics)}
              {best(row) === i ? <span class="visually-hidden"> (best)</span> : null}
            </>
          ),
        })),
      ]}
    />
  );
}
