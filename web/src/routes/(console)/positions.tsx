import { Title } from '@solidjs/meta';
import { PnlStrip } from '../../components/desk/pnl-strip.tsx';
import { PositionsTable } from '../../components/desk/positions-table.tsx';
import { Panel, QueryView } from '../../components/panel.tsx';
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
          {(list) => <PositionsTable positions={list} fill />}
        </QueryView>
      </Panel>
    </>
  );
}
