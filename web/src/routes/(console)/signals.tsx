import { Title } from '@solidjs/meta';
import { NotAvailable, Panel } from '../../components/panel.tsx';

export default function SignalsPage() {
  return (
    <>
      <Title>Signals · Aegis</Title>
      <div class="page-header">
        <h1>Signals</h1>
        <span class="page-sub">Scored patterns from the engine</span>
      </div>
      <Panel title="Signals" bodyClass="h-list">
        <NotAvailable what="The signal history and live feed" arrivesWith="the engine's signal stream" />
      </Panel>
    </>
  );
}
