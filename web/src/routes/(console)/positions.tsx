import { Title } from '@solidjs/meta';
import { NotAvailable, Panel } from '../../components/panel.tsx';

export default function PositionsPage() {
  return (
    <>
      <Title>Positions · Aegis</Title>
      <div class="page-header">
        <h1>Positions</h1>
        <span class="page-sub">Open positions and P&amp;L</span>
      </div>
      <Panel title="Positions" bodyClass="h-list">
        <NotAvailable what="Positions and P&amp;L" arrivesWith="portfolio accounting" />
      </Panel>
    </>
  );
}
