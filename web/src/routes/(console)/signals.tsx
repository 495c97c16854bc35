import { Title } from '@solidjs/meta';
import { LiveSignals } from '../../components/desk-panels.tsx';
import { Panel } from '../../components/panel.tsx';

export default function SignalsPage() {
  return (
    <>
      <Title>Signals · Aegis</Title>
      <div class="page-header">
        <h1>Signals</h1>
        <span class="page-sub">Scored patterns from the engine, newest first, live</span>
      </div>
      <Panel title="Signals" meta="Latest 200, then streaming" bodyClass="h-audit" flush>
        <LiveSignals limit={200} />
      </Panel>
    </>
  );
}
