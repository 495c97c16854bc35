import { Show } from 'solid-js';
import { createQuery } from '../../lib/query.ts';
import { trpc } from '../../lib/trpc.ts';
import { EquityChart } from '../equity-chart.tsx';
import { EmptyState, QueryView } from '../panel.tsx';

/** The desk's equity curve (overview page); the numbers come from the server. */
export function EquityPanelBody() {
  const series = createQuery(() => trpc.equity.series.query({ limit: 2000 }), { pollMs: 15_000 });
  return (
    <QueryView query={series} errorTitle="Could not load equity">
      {(points) => (
        <Show
          when={points.length > 1}
          fallback={
            <EmptyState title="No equity history yet">
              Snapshots are recorded on fills and at intervals once the desk trades.
            </EmptyState>
          }
        >
          <EquityChart points={points} />
        </Show>
      )}
    </QueryView>
  );
}
