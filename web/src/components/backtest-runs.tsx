import type { BacktestStatus } from '@aegis/shared/schemas/backtest';
import { Show } from 'solid-js';
import { utcTime } from '../lib/decimal-format.ts';
import { formatPercent } from '../lib/metric-format.ts';
import type { Query } from '../lib/query.ts';
import type { RouterOutputs } from '../lib/trpc.ts';
import { DataTable } from './data-table/data-table.tsx';
import { EmptyState, QueryView } from './panel.tsx';

export type BacktestListItem = RouterOutputs['backtests']['list']['items'][number];

export const STATUS_TONE: Record<BacktestStatus, string> = {
  queued: '',
  running: 'tag-warn',
  succeeded: 'tag-ok',
  failed: 'tag-bad',
  cancelled: '',
};

export const ACTIVE = new Set<BacktestStatus>(['queued', 'running']);

/**
 * The desk's backtests, newest first: status, progress of running ones, and a checkbox to pick
 * two runs for a side-by-side comparison. Opening a run shows it below (its id is in the URL).
 */
export function BacktestRuns(props: {
  runs: Query<readonly BacktestListItem[]>;
  selected: string | undefined;
  onOpen: (id: string) => void;
  compare: readonly string[];
  onToggleCompare: (id: string) => void;
  onCompare: () => void;
}) {
  return (
    <QueryView query={props.runs} errorTitle="Could not load backtests">
      {(runs) => (
        <Show
          when={runs.length > 0}
          fallback={
            <EmptyState title="No backtests on this desk yet">
              Start one with the form; it is queued and runs on a backtest worker.
            </EmptyState>
          }
        >
          <div class="bt-runs">
            <DataTable
              label="Backtests of this desk"
              tableAttrs={{ 'aria-label': 'Backtests of this desk' }}
              rows={runs}
              fill
              rowAttrs={(run) => ({
                'data-backtest-id': run.id,
                'data-status': run.status,
                'aria-selected': String(props.selected === run.id),
              })}
              onRowClick={(run) => props.onOpen(run.id)}
              columns={[
                {
                  id: 'compare',
                  header: 'Compare',
                  headerContent: <span class="visually-hidden">Compare</span>,
                  cell: (run) => (
                    <input
                      type="checkbox"
                      aria-label={`Compare ${run.name}`}
                      checked={props.compare.includes(run.id)}
                      disabled={
                        run.status !== 'succeeded' ||
                        (props.compare.length >= 2 && !props.compare.includes(run.id))
                      }
                      onChange={() => props.onToggleCompare(run.id)}
                    />
                  ),
                },
                {
                  id: 'name',
                  header: 'Name',
                  class: 'bt-run-name',
                  title: (run) => run.name,
                  cell: (run) => (
                    <button type="button" onClick={() => props.onOpen(run.id)}>
                      {run.name}
                    </button>
                  ),
                },
                {
                  id: 'status',
                  header: 'Status',
                  cell: (run) => (
                    <>
                      <span class={`tag ${STATUS_TONE[run.status]}`}>{run.status}</span>
                      <Show when={run.status === 'running' && run.progress}>
                        {(p) => (
                          <span class="dim">
                            {' '}
                            <span class="bt-mini-bar" aria-hidden="true">
                              <span style={{ width: `${Math.round(p().fraction * 100)}%` }} />
                            </span>
                            {formatPercent(p().fraction, 0)}
                          </span>
                        )}
                      </Show>
                    </>
                  ),
                },
                {
                  id: 'data',
                  header: 'Data',
                  class: 'dim',
                  priority: 3,
                  cell: (run) =>
                    run.spec.data.kind === 'simulation'
                      ? `simulation · ${run.spec.instruments.length} instr.`
                      : run.spec.data.kind === 'ticks_table'
                        ? 'ticks table'
                        : 'uploaded file',
                },
                {
                  id: 'created',
                  header: 'Created (UTC)',
                  class: 'mono',
                  priority: 2,
                  cell: (run) => utcTime(run.createdAt, false),
                },
                {
                  id: 'finished',
                  header: 'Finished',
                  class: 'mono dim',
                  priority: 3,
                  cell: (run) => (run.finishedAt ? utcTime(run.finishedAt, false) : '—'),
                },
              ]}
            />
          </div>
          <div class="bt-compare-bar">
            <span class="dim">
              {props.compare.length === 0
                ? 'Tick two finished runs to compare them.'
                : `${props.compare.length} of 2 selected`}
            </span>
            <button
              type="button"
              class="btn btn-sm"
              disabled={props.compare.length !== 2}
              onClick={() => props.onCompare()}
            >
              Compare side by side
            </button>
          </div>
        </Show>
      )}
    </QueryView>
  );
}
