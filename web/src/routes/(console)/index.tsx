import { A } from '@solidjs/router';
import { Show } from 'solid-js';
import { ApprovalsQueue } from '../../components/approvals-queue.tsx';
import { AuditTable } from '../../components/audit-table.tsx';
import { BrokerAccountsBody } from '../../components/broker-accounts-panel.tsx';
import { EquityPanelBody } from '../../components/desk/equity-panel.tsx';
import { ExposurePanelBody } from '../../components/desk/exposure-panel.tsx';
import { LiveSignals } from '../../components/desk/live-signals.tsx';
import { PnlStrip } from '../../components/desk/pnl-strip.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { EmptyState, Panel } from '../../components/panel.tsx';
import { WatchlistPanelBody } from '../../components/watchlist-panel.tsx';
import { useSession } from '../../lib/session.tsx';

/**
 * The desk at a glance: P&L headline, equity curve, exposure, live signals, the approvals queue
 * and recent activity. Every number comes from the server.
 */
export default function Overview() {
  const session = useSession();
  const desk = () => session.me()?.activeDesk ?? null;
  return (
    <>
      <PageHeader title="Overview" sub={desk() ? desk()!.name : 'No active desk'} />
      <Show
        when={desk()}
        fallback={
          <Panel title="No desk" bodyClass="h-list">
            <EmptyState title="You are not a member of any desk yet">
              An administrator can add you to a desk; it then appears in the desk selector.
            </EmptyState>
          </Panel>
        }
      >
        <PnlStrip />
        <div class="overview-grid">
          <div class="span-8">
            <Panel title="Equity curve" meta="Account equity, UTC" bodyClass="h-chart">
              <EquityPanelBody />
            </Panel>
          </div>
          <div class="span-4">
            <Panel title="Exposure" meta="Market value by instrument" bodyClass="h-side">
              <ExposurePanelBody />
            </Panel>
          </div>
          <div class="span-12">
            <Panel title="Watchlist" meta={<A href="/instruments">Markets</A>} bodyClass="h-watchlist" flush>
              <WatchlistPanelBody />
            </Panel>
          </div>
          <div class="span-6">
            <Panel title="Live signals" meta="Streaming from the engine" bodyClass="h-list" flush>
              <LiveSignals limit={50} compact />
            </Panel>
          </div>
          <div class="span-6">
            <Panel title="Approvals queue" meta="Awaiting a human decision" bodyClass="h-list">
              <ApprovalsQueue />
            </Panel>
          </div>
          <div class="span-12">
            <Panel title="Broker accounts" meta={<A href="/brokers">Manage brokers</A>}>
              <BrokerAccountsBody />
            </Panel>
          </div>
          <div class="span-12">
            <Panel title="Recent activity" meta="Audit log of this desk" bodyClass="h-list" flush>
              <Show
                when={desk()?.role === 'admin'}
                fallback={
                  <div class="panel-body">
                    <EmptyState title="Visible to desk admins">
                      The audit log of a desk is readable by its admins.
                    </EmptyState>
                  </div>
                }
              >
                <AuditTable limit={12} />
              </Show>
            </Panel>
          </div>
        </div>
      </Show>
    </>
  );
}
