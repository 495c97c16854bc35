import { useSearchParams } from '@solidjs/router';
import { createMemo, createSignal, Show } from 'solid-js';
import { BacktestCompare } from '../../components/backtest-compare.tsx';
import { BacktestDetail } from '../../components/backtest-detail.tsx';
import { BacktestForm } from '../../components/backtest-form.tsx';
import { ACTIVE, BacktestRuns } from '../../components/backtest-runs.tsx';
import { Panel } from '../../components/panel.tsx';
import { createQuery } from '../../lib/query.ts';
import { useSession } from '../../lib/session.tsx';
import { trpc } from '../../lib/trpc.ts';
import '../../research.css';
import { PageHeader } from '../../components/page-header.tsx';

/**
 * Backtests: start one (the form), the desk's runs with their status, the opened run (`?run=`)
 * with live progress or its results, and two runs compared (`?compare=a,b`). A backtest replays
 * ticks through the engine's own features, patterns and model, the rules agent, the risk
 * governor and the paper broker's fill model, on a simulated clock; it runs on a worker, so this
 * page only queues, follows and reads.
 */
export default function BacktestsPage() {
  const session = useSession();
  const [params, setParams] = useSearchParams<{ run?: string; compare?: string }>();
  const canRun = () => ['admin', 'trader'].includes(session.me()?.activeDesk?.role ?? '');
  // The list refreshes every 5 s (statuses, progress of running ones); the opened run streams live.
  const runs = createQuery(async () => (await trpc.backtests.list.query({ limit: 100 })).items, {
    pollMs: 5_000,
  });
  const [picked, setPicked] = createSignal<readonly string[]>([]);

  const compareIds = createMemo((): readonly [string, string] | null => {
    const ids = (params.compare ?? '').split(',').filter((s) => s !== '');
    return ids.length === 2 ? [ids[0]!, ids[1]!] : null;
  });
  const anyActive = () => {
    const s = runs.state();
    return s.status === 'ready' && s.data.some((r) => ACTIVE.has(r.status));
  };

  const open = (id: string) => {
    setParams({ run: id, compare: undefined });
  };

  return (
    <>
      <PageHeader
        title="Backtests"
        sub={`Recorded or simulated ticks through the live engine, agent, risk governor and paper fills${anyActive() ? ' · running now' : ''}`}
      />
      <div class="research-grid">
        <div class="span-5">
          <Panel
            title="New backtest"
            meta={canRun() ? 'Queued on a backtest worker' : 'Traders and admins start runs'}
          >
            <BacktestForm
              disabled={!canRun()}
              disabledReason="Viewers can follow and compare runs but not start them."
              estimate={(spec) => trpc.backtests.estimate.query(spec)}
              submit={async (spec) => {
                const created = await trpc.backtests.create.mutate(spec);
                await runs.refetch();
                open(created.id);
              }}
            />
          </Panel>
        </div>
        <div class="span-7">
          <Panel title="Runs" meta="This desk's backtests, newest first" flush>
            <BacktestRuns
              runs={runs}
              selected={params.run}
              onOpen={open}
              compare={picked()}
              onToggleCompare={(id) =>
                setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id].slice(-2)))
              }
              onCompare={() => setParams({ compare: picked().join(','), run: undefined })}
            />
          </Panel>
        </div>
      </div>
      <Show when={compareIds()} keyed>
        {(ids) => <BacktestCompare ids={ids} onClose={() => setParams({ compare: undefined })} />}
      </Show>
      <Show when={!compareIds() && params.run} keyed>
        {(id) => <BacktestDetail id={id} canRun={canRun()} onChanged={() => void runs.refetch()} />}
      </Show>
    </>
  );
}
