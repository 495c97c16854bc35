import { Title } from '@solidjs/meta';
import { NotAvailable, Panel } from '../../components/panel.tsx';

export default function OrdersPage() {
  return (
    <>
      <Title>Orders · Aegis</Title>
      <div class="page-header">
        <h1>Orders</h1>
        <span class="page-sub">Working and completed orders, with fills</span>
      </div>
      <Panel title="Orders" bodyClass="h-list">
        <NotAvailable what="Orders and fills" arrivesWith="execution and the broker adapters" />
      </Panel>
    </>
  );
}
