import { createSignal, onCleanup, onMount, Show } from 'solid-js';
import { recoveryAction, STATUS_LABEL, STATUS_TONE } from '../lib/broker-status.ts';
import { formatDecimal, utcTime } from '../lib/decimal-format.ts';
import { relativeTime } from '../lib/relative-time.ts';
import type { Connection } from './broker-link-dialog.tsx';
import { DataTable } from './data-table/data-table.tsx';

/** A connection's environment: paper (the broker's simulation) or live (real money). */
export function EnvironmentTag(props: { environment: Connection['environment'] }) {
  return (
    <span class={`tag ${props.environment === 'live' ? 'tag-live' : 'tag-paper'}`}>{props.environment}</span>
  );
}

/** Status tag plus the server's reason, flagged so a connection that needs a person stands out. */
export function ConnectionStatus(props: { connection: Connection }) {
  return (
    <div class="broker-status">
      <span class={`tag ${STATUS_TONE[props.connection.status]}`}>
        {STATUS_LABEL[props.connection.status]}
      </span>
      <Show when={props.connection.statusReason}>
        <span class="broker-status-reason" title={props.connection.statusReason ?? ''}>
          {props.connection.statusReason}
        </span>
      </Show>
    </div>
  );
}

/** "Now" that ticks every 30 s, so relative times stay true while the page is open. */
export function useNow(periodMs = 30_000): () => number {
  const [now, setNow] = createSignal(Date.now());
  onMount(() => {
    const timer = setInterval(() => setNow(Date.now()), periodMs);
    onCleanup(() => clearInterval(timer));
  });
  return now;
}

/**
 * The desk's linked broker accounts with their balances as last read from the broker. Actions:
 * Sync (read balances now), Relink / Re-authenticate when the connection needs a person, Unlink
 * (confirmed in a dialog by the caller).
 */
export function BrokerConnectionsTable(props: {
  connections: readonly Connection[];
  highlight: string | undefined;
  canManage: boolean;
  canSync: boolean;
  syncing: ReadonlySet<string>;
  onSync: (c: Connection) => void;
  onRelink: (c: Connection) => void;
  onUnlink: (c: Connection) => void;
}) {
  const now = useNow();
  return (
    <DataTable
      label="Linked broker accounts of this desk"
      class="broker-table"
      rows={props.connections}
      rowClass={(c) => (c.id === props.highlight ? 'row-highlight' : undefined)}
      rowAttrs={(c) => ({ 'data-connection': c.id, 'aria-label': `${c.providerName} ${c.label}` })}
      columns={[
        { id: 'provider', header: 'Provider', cell: (c) => c.providerName },
        { id: 'label', header: 'Label', cell: (c) => c.label },
        {
          id: 'env',
          header: 'Env',
          priority: 2,
          cell: (c) => <EnvironmentTag environment={c.environment} />,
        },
        { id: 'status', header: 'Status', cell: (c) => <ConnectionStatus connection={c} /> },
        {
          id: 'account',
          header: 'Account',
          class: 'mono dim',
          priority: 3,
          cell: (c) => c.account?.accountId ?? c.accountRef,
        },
        { id: 'ccy', header: 'Ccy', class: 'dim', priority: 3, cell: (c) => c.account?.currency ?? '' },
        {
          id: 'cash',
          header: 'Cash',
          numeric: true,
          priority: 3,
          cell: (c) => formatDecimal(c.account?.cash ?? null),
        },
        {
          id: 'buyingPower',
          header: 'Buying power',
          numeric: true,
          priority: 2,
          cell: (c) => formatDecimal(c.account?.buyingPower ?? null),
        },
        {
          id: 'equity',
          header: 'Equity',
          numeric: true,
          priority: 3,
          cell: (c) => formatDecimal(c.account?.equity ?? null),
        },
        {
          id: 'sync',
          header: 'Last sync',
          class: 'dim',
          priority: 2,
          title: (c) => (c.lastSyncAt ? `${utcTime(c.lastSyncAt)} UTC` : 'never synced'),
          cell: (c) => relativeTime(c.lastSyncAt, now()),
        },
      ]}
      actions={(c) => (
        <div class="broker-actions">
          <Show when={props.canSync && c.status !== 'revoked'}>
            <button
              type="button"
              class="btn btn-sm"
              disabled={props.syncing.has(c.id)}
              aria-label={`Sync ${c.label}`}
              onClick={() => props.onSync(c)}
            >
              {props.syncing.has(c.id) ? 'Syncing…' : 'Sync'}
            </button>
          </Show>
          <Show when={props.canManage && recoveryAction(c.status)}>
            {(action) => (
              <button
                type="button"
                class="btn btn-sm btn-attention"
                aria-label={`${action()} ${c.label}`}
                title={
                  c.linkKind === 'gateway'
                    ? 'Sign in at the gateway first; this checks its session again'
                    : `Sign in at ${c.providerName} again; the connection keeps its id and orders`
                }
                onClick={() => props.onRelink(c)}
              >
                {action()}
              </button>
            )}
          </Show>
          <Show when={props.canManage && c.status !== 'revoked'}>
            <button
              type="button"
              class="btn btn-sm btn-danger"
              aria-label={`Unlink ${c.label}`}
              onClick={() => props.onUnlink(c)}
            >
              Unlink
            </button>
          </Show>
        </div>
      )}
    />
  );
}
