import { createSignal, Show } from 'solid-js';
import { utcTime } from '../lib/decimal-format.ts';
import { createQuery } from '../lib/query.ts';
import { useSubscription } from '../lib/subscription.ts';
import { type RouterOutputs, trpc } from '../lib/trpc.ts';
import { DataTable } from './data-table/data-table.tsx';
import { EmptyState, Panel, QueryView } from './panel.tsx';

type Skips = RouterOutputs['agent']['skips'];

const STATE_LABEL: Record<string, string> = {
  idle: 'idle',
  thinking: 'thinking',
  waiting_for_approval: 'waiting for approval',
  halted: 'halted',
};

const CODE_LABEL: Record<Skips['items'][number]['code'], string> = {
  not_covered: 'automation off',
  stale_signal: 'stale',
  halted: 'halted',
  below_min_score: 'below preset',
  untradable: 'no reference data',
  duplicate_pending: 'duplicate',
  flip_flop: 'flip-flop',
  rate_limited: 'hourly cap',
  budget_exhausted: 'budget spent',
  below_budget_bar: 'below budget bar',
  decider_declined: 'declined',
};

/**
 * The desk's decision agent at work: its live state, the proposal budget as it stands (the token
 * bucket that spreads the hour's proposals), and the latest signals it let go, each with the
 * reason (and its numbers) — what used to be visible only in the server log.
 */
export function AgentActivityPanel() {
  const skips = createQuery(() => trpc.agent.skips.query({ limit: 50 }), { pollMs: 30_000 });
  const [state, setState] = createSignal<{ state: string; detail?: string | undefined }>();

  useSubscription(() =>
    trpc.agent.status.subscribe(undefined, {
      onData: (event) => {
        setState({ state: event.data.state, detail: event.data.detail });
        // A skip was just stored: show it now rather than at the next poll.
        if ('skip' in event.data || event.data.state === 'halted') void skips.refetch();
      },
    }),
  );

  return (
    <div class="agent-activity">
      <Panel
        title="Agent activity"
        meta={
          <span class="agent-state" aria-live="polite">
            {state() ? (STATE_LABEL[state()!.state] ?? state()!.state) : 'connecting…'}
          </span>
        }
        bodyClass="h-skips"
      >
        <QueryView query={skips} errorTitle="Could not load the agent's skipped signals">
          {(data) => (
            <>
              <p class="field-hint" data-testid="agent-budget">
                Budget: {data.budget.tokens.toFixed(2)} of {data.budget.capacity} proposal tokens (
                {data.budget.maxProposalsPerHour} per hour, {data.budget.proposalsLastHour} in the last hour)
                {data.budget.nextTokenInSeconds > 0
                  ? `; next token in ${data.budget.nextTokenInSeconds} s`
                  : ''}
                . Minimum holding time {data.budget.minHoldingSeconds} s.
              </p>
              <Show
                when={data.items.length > 0}
                fallback={
                  <EmptyState title="No skipped signals">
                    Every signal the agent saw became a proposal.
                  </EmptyState>
                }
              >
                <DataTable
                  label="Signals the agent skipped, newest first, with reasons"
                  tableAttrs={{ 'aria-label': 'Skipped signals' }}
                  rows={data.items}
                  fill
                  columns={[
                    {
                      id: 'time',
                      header: 'Time (UTC)',
                      class: 'mono',
                      priority: 2,
                      cell: (s) => utcTime(s.createdAt),
                    },
                    { id: 'instrument', header: 'Instrument', class: 'mono', cell: (s) => s.symbol },
                    {
                      id: 'side',
                      header: 'Side',
                      class: (s) => (s.direction === 'long' ? 'pos' : 'neg'),
                      cell: (s) => s.direction,
                    },
                    {
                      id: 'score',
                      header: 'Score',
                      numeric: true,
                      priority: 3,
                      cell: (s) => s.score.toFixed(2),
                    },
                    {
                      id: 'skipped',
                      header: 'Skipped',
                      cell: (s) => (
                        <span class="tag" data-code={s.code}>
                          {CODE_LABEL[s.code]}
                        </span>
                      ),
                    },
                    {
                      id: 'reason',
                      header: 'Reason',
                      class: 'dim skip-reason',
                      wrap: true,
                      priority: 2,
                      cell: (s) => s.reason,
                    },
                  ]}
                />
              </Show>
            </>
          )}
        </QueryView>
      </Panel>
    </div>
  );
}
