import { Title } from '@solidjs/meta';
import { Show } from 'solid-js';
import { AuditTable } from '../../components/audit-table.tsx';
import { EmptyState, NotAvailable, Panel } from '../../components/panel.tsx';
import { useSession } from '../../lib/session.tsx';

/**
 * The desk at a glance. Panels whose procedures the server does not offer yet say so plainly;
 * nothing here is ever a made-up number.
 */
export default function Overview() {
  const session = useSession();
  const desk = () => session.me()?.activeDesk ?? null;
  return (
    <>
      <Title>Overview · Aegis</Title>
      <div class="page-header">
        <h1>Overview</h1>
        <span class="page-sub">{desk() ? desk()!.name : 'No active desk'}</span>
      </div>
      <div class="overview-grid">
        <div class="span-8">
          <Panel title="Equity curve" meta="Account equity, UTC" bodyClass="h-chart">
            <div class="chart-frame">
              <NotAvailable what="Equity history" arrivesWith="portfolio accounting (equity snapshots)" />
            </div>
          </Panel>
        </div>
        <div class="span-4">
          <Panel title="Exposure" meta="Gross / net by instrument" bodyClass="h-side">
            <NotAvailable what="Exposure by instrument" arrivesWith="positions and fills" />
          </Panel>
        </div>
        <div class="span-6">
          <Panel title="Live signals" meta="Streaming" bodyClass="h-list">
            <NotAvailable what="The live signal feed" arrivesWith="the engine's signal stream" />
          </Panel>
        </div>
        <div class="span-6">
          <Panel title="Approvals queue" meta="Awaiting a human decision" bodyClass="h-list">
            <NotAvailable
              what="Trade proposals awaiting approval"
              arrivesWith="the proposal and approval flow"
            />
          </Panel>
        </div>
        <div class="span-12">
          <Panel title="Recent activity" meta="Audit log of this desk" bodyClass="h-list" flush>
            <Show
              when={desk()?.role === 'admin'}
              fallback={
                <div class="panel-body">
                  <EmptyState title={desk() ? 'Visible to desk admins' : 'No active desk'}>
                    {desk()
                      ? 'The audit log of a desk is readable by its admins.'
                      : 'You are not a member of any desk yet. An admin can add you to one.'}
                  </EmptyState>
                </div>
              }
            >
              <AuditTable limit={12} />
            </Show>
          </Panel>
        </div>
      </div>
    </>
  );
}
