import { AgentActivityPanel } from '../../components/agent-activity-panel.tsx';
import { ApprovalsQueue } from '../../components/approvals-queue.tsx';
import { type Column, DataTable } from '../../components/data-table/data-table.tsx';
import { priceColumn } from '../../components/data-table/price-column.ts';
import { sideColumn } from '../../components/data-table/side-column.ts';
import { PageHeader } from '../../components/page-header.tsx';
import { Panel, QueryView } from '../../components/panel.tsx';
import { utcTime } from '../../lib/decimal-format.ts';
import { formatQuantity } from '../../lib/instrument-sizes.ts';
import { createQuery } from '../../lib/query.ts';
import { type RouterOutputs, trpc } from '../../lib/trpc.ts';

type Proposal = RouterOutputs['proposals']['list']['items'][number];

const TONE: Partial<Record<Proposal['status'], string>> = {
  pending: 'tag-warn',
  approved: 'tag-ok',
  executed: 'tag-ok',
  rejected: 'tag-bad',
  denied: 'tag-bad',
  failed: 'tag-bad',
};

const columns: readonly Column<Proposal>[] = [
  // On a phone the time folds into the details line: the status outranks it.
  { id: 'created', header: 'Created (UTC)', class: 'mono', priority: 2, cell: (p) => utcTime(p.createdAt) },
  { id: 'instrument', header: 'Instrument', class: 'mono', cell: (p) => p.instrument },
  sideColumn((p) => p.side),
  { id: 'qty', header: 'Qty', numeric: true, cell: (p) => formatQuantity(p.quantity, p.instrument) },
  priceColumn(
    'limit',
    'Limit',
    (p) => p.limitPrice,
    (p) => p.instrument,
    2,
  ),
  {
    id: 'confidence',
    header: 'Confidence',
    numeric: true,
    priority: 3,
    help: "The agent's confidence in the trade",
    cell: (p) => `${Math.round(p.confidence * 100)}%`,
  },
  {
    id: 'risk',
    header: 'Risk',
    numeric: true,
    priority: 3,
    help: 'Risk score 0–100 (higher is riskier)',
    cell: (p) => p.riskScore,
  },
  { id: 'decider', header: 'Decider', class: 'dim', priority: 3, cell: (p) => p.decider },
  {
    id: 'status',
    header: 'Status',
    cell: (p) => <span class={`tag ${TONE[p.status] ?? ''}`}>{p.status}</span>,
  },
  {
    id: 'decided',
    header: 'Decided (UTC)',
    class: 'mono dim',
    priority: 2,
    cell: (p) => utcTime(p.decidedAt),
  },
];

export default function ProposalsPage() {
  const history = createQuery(() => trpc.proposals.list.query({ limit: 100 }), { pollMs: 10_000 });
  return (
    <>
      <PageHeader
        title="Proposals"
        sub="Trades proposed by the agent, checked by the risk governor, decided by a human"
      />
      <div class="orders-layout proposals-layout">
        <Panel title="History" meta="Latest 100" bodyClass="h-audit" flush>
          <QueryView query={history} errorTitle="Could not load proposals">
            {(page) => (
              <DataTable
                label="Proposals, newest first"
                rows={page.items}
                columns={columns}
                empty="No proposals on this desk yet"
                fill
              />
            )}
          </QueryView>
        </Panel>
        <Panel title="Awaiting approval" meta="Live" bodyClass="h-audit">
          <ApprovalsQueue onChange={() => void history.refetch()} />
        </Panel>
      </div>
      <AgentActivityPanel />
    </>
  );
}
