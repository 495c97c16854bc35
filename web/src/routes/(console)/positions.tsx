import { Title } from '@solidjs/meta';
import { Show } from 'solid-js';
import { PnlStrip, PositionsTable } from '../../components/desk-panels.tsx';
import { EmptyState, Panel, QueryView } from '../../components/panel.tsx';
import { createQuery } from '../../lib/query.ts';
import { trpc } from '../../lib/trpc.ts';

export default function PositionsPage() {
  const positions = createQuery(() => trpc.positions.list.query(), { pollMs: 5_000 });
  return (
    <>
      <Title>Positions · Aegis</Title>
      <div class="page-header">
        <h1>Positions</h1>
        <span class="page-sub">Average-cost accounting, marked to the latest price</span>
      </div>
      <PnlStrip />
      <Panel title="Positions" meta="Refreshes every 5 s" bodyClass="h-list" flush>
        <QueryView query={positions} errorTitle="Could not load positions">
          {(list) => (
            <Show when={list.length > 0} fallback={<EmptyState title="No positions on this desk" />}>
              <div class="scroll">
                <PositionsTable positions={list} />
              </div>
            </Show>
          )}
        </QueryView>
      </Panel>
    </>
  );
}
