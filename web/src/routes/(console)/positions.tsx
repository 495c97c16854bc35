import { PnlStrip } from '../../components/desk/pnl-strip.tsx';
import { PositionsTable } from '../../components/desk/positions-table.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { Panel, QueryView } from '../../components/panel.tsx';
import { createQuery } from '../../lib/query.ts';
import { trpc } from '../../lib/trpc.ts';

export default function PositionsPage() {
  const positions = createQuery(() => trpc.positions.list.query(), { pollMs: 5_000 });
  return (
    <>
      <PageHeader title="Positions" sub="Average-cost accounting, marked to the latest price" />
      <PnlStrip />
      <Panel title="Positions" meta="Refreshes every 5 s" bodyClass="h-list" flush>
        <QueryView query={positions} errorTitle="Could not load positions">
          {(list) => <PositionsTable positions={list} fill />}
        </QueryView>
      </Panel>
    </>
  );
}
