import { Title } from '@solidjs/meta';
import { For, Show } from 'solid-js';
import { AgentActivityPanel } from '../../components/agent-activity-panel.tsx';
import { ApprovalsQueue } from '../../components/approvals-queue.tsx';
import { EmptyState, Panel, QueryView } from '../../components/panel.tsx';
import { formatDecimal, utcTime } from '../../lib/decimal-format.ts';
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

export default function ProposalsPage() {
  const history = createQuery(() => trpc.proposals.list.query({ limit: 100 }), { pollMs: 10_000 });
  return (
    <>
      <Title>Proposals · Aegis</Title>
      <div class="page-header">
        <h1>Proposals</h1>
        <span class="page-sub">
          Trades proposed by the agent, checked by the risk governor, decided by a human
        </span>
      </div>
      <div class="orders-layout proposals-layout">
        <Panel title="History" meta="Latest 100" bodyClass="h-audit" flush>
          <QueryView query={history} errorTitle="Could not load proposals">
            {(page) => (
              <Show
                when={page.items.length > 0}
                fallback={<EmptyState title="No proposals on this desk yet" />}
              >
                <div class="scroll">
                  <table class="table">
                    <caption class="visually-hidden">Proposals, newest first</caption>
                    <thead>
                      <tr>
                        <th scope="col">Created (UTC)</th>
                        <th scope="col">Instrument</th>
                        <th scope="col">Side</th>
                        <th scope="col" class="num">
                          Qty
                        </th>
                        <th scope="col" class="num">
                          Limit
                        </th>
                        <th scope="col" class="num">
                          Confidence
                        </th>
                        <th scope="col" class="num">
                          Risk
                        </th>
                        <th scope="col">Decider</th>
                        <th scope="col">Status</th>
                        <th scope="col">Decided (UTC)</th>
                      </tr>
                    </thead>
                    <tbody>
                      <For each={page.items}>
                        {(p) => (
                          <tr>
                            <td class="mono">{utcTime(p.createdAt)}</td>
                            <td class="mono">{p.instrument}</td>
                            <td class={p.side === 'buy' ? 'pos' : 'neg'}>{p.side}</td>
                            <td class="num">{formatDecimal(p.quantity, 4)}</td>
                            <td class="num">{formatDecimal(p.limitPrice, 4)}</td>
                            <td class="num">{Math.round(p.confidence * 100)}%</td>
                            <td class="num">{p.riskScore}</td>
                            <td class="dim">{p.decider}</td>
                            <td>
                              <span class={`tag ${TONE[p.status] ?? ''}`}>{p.status}</span>
                            </td>
                            <td class="mono dim">{utcTime(p.decidedAt)}</td>
                          </tr>
                        )}
                      </For>
                    </tbody>
                  </table>
                </div>
              </Show>
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
