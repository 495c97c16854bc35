import { A } from '@solidjs/router';
import { For, Show } from 'solid-js';
import { connectionName, recoveryAction, STATUS_LABEL, STATUS_TONE } from '../lib/broker-status.ts';
import { formatDecimal, utcTime } from '../lib/decimal-format.ts';
import { createQuery } from '../lib/query.ts';
import { relativeTime } from '../lib/relative-time.ts';
import { trpc } from '../lib/trpc.ts';
import { EnvironmentTag, useNow } from './broker-connections-table.tsx';
import { EmptyState, QueryView } from './panel.tsx';
import '../brokers.css';

/**
 * The overview's accounts panel: one compact card per linked connection (balances as last read
 * from the broker, status, last sync). The full table and its actions live on /brokers.
 */
export function BrokerAccountsBody() {
  const connections = createQuery(() => trpc.brokers.list.query(), { pollMs: 30_000 });
  const now = useNow();
  return (
    <QueryView query={connections} errorTitle="Could not load broker accounts">
      {(all) => {
        const list = all.filter((c) => c.status !== 'revoked');
        return (
          <Show
            when={list.length > 0}
            fallback={
              <EmptyState title="No broker accounts linked">
                Orders go to the paper account. <A href="/brokers">Link a broker</A> to route them to it.
              </EmptyState>
            }
          >
            <ul class="account-cards" aria-label="Broker accounts">
              <For each={list}>
                {(c) => (
                  <li
                    class="account-card"
                    aria-label={connectionName(c)}
                    data-attention={recoveryAction(c.status) || c.status === 'error' ? '' : undefined}
                  >
                    <div class="account-card-head">
                      <span class="account-card-name" title={connectionName(c)}>
                        {connectionName(c)}
                      </span>
                      <EnvironmentTag environment={c.environment} />
                    </div>
                    <dl class="account-figures">
                      <div>
                        <dt>Equity</dt>
                        <dd>{formatDecimal(c.account?.equity ?? null)}</dd>
                      </div>
                      <div>
                        <dt>Cash</dt>
                        <dd>{formatDecimal(c.account?.cash ?? null)}</dd>
                      </div>
                      <div>
                        <dt>Buying power</dt>
                        <dd>{formatDecimal(c.account?.buyingPower ?? null)}</dd>
                      </div>
                    </dl>
                    <div class="account-card-foot">
                      <span class={`tag ${STATUS_TONE[c.status]}`}>{STATUS_LABEL[c.status]}</span>
                      <span title={c.lastSyncAt ? `${utcTime(c.lastSyncAt)} UTC` : 'never synced'}>
                        synced {relativeTime(c.lastSyncAt, now())}
                      </span>
                    </div>
                    <Show when={c.statusReason}>
                      <span class="account-card-reason" title={c.statusReason ?? ''}>
                        {c.statusReason}
                      </span>
                    </Show>
                  </li>
                )}
              </For>
            </ul>
          </Show>
        );
      }}
    </QueryView>
  );
}
