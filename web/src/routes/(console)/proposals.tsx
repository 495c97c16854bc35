import { Title } from '@solidjs/meta';
import { NotAvailable, Panel } from '../../components/panel.tsx';

export default function ProposalsPage() {
  return (
    <>
      <Title>Proposals · Aegis</Title>
      <div class="page-header">
        <h1>Proposals</h1>
        <span class="page-sub">Trades proposed by the agent or a trader</span>
      </div>
      <Panel title="Proposals" bodyClass="h-list">
        <NotAvailable what="Proposals and their risk checks" arrivesWith="the proposal and approval flow" />
      </Panel>
    </>
  );
}
