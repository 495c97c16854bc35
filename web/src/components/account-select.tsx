import { For, Show } from 'solid-js';
import { connectionName } from '../lib/broker-status.ts';
import { formatDecimal } from '../lib/decimal-format.ts';
import { createQuery } from '../lib/query.ts';
import { trpc } from '../lib/trpc.ts';
import type { Connection } from './broker-link-dialog.tsx';
import '../brokers.css';

/** The select's value for the desk's paper account (no connection: `brokerConnectionId: null`). */
export const PAPER_ACCOUNT = '';

/** `brokerConnectionId` for the orders.place / approvals.approve input from the select's value. */
export function brokerConnectionIdOf(value: string): string | null {
  return value === PAPER_ACCOUNT ? null : value;
}

function optionLabel(c: Connection): string {
  return `${connectionName(c)} (${c.environment})`;
}

function optionTitle(c: Connection): string | undefined {
  return c.account
    ? `equity ${formatDecimal(c.account.equity)} ${c.account.currency} · buying power ${formatDecimal(c.account.buyingPower)}`
    : undefined;
}
/**
 * Which account an order goes to: the desk's paper account, or one of its linked broker
 * connections that takes orders now (`tradable`: active and trading supported). A connection
 * that needs a person (relink, sign-in) is listed disabled, so the trader sees why it is missing.
 */
export function AccountSelect(props: {
  id: string;
  name?: string;
  label?: string;
  value?: string;
  onChange?: (value: string) => void;
}) {
  const connections = createQuery(() => trpc.brokers.list.query());
  const list = (): readonly Connection[] => {
    const s = connections.state();
    return s.status === 'ready' ? s.data.filter((c) => c.status !== 'revoked') : [];
  };
  return (
    <div class="field">
      <label for={props.id}>{props.label ?? 'Account'}</label>
      <select
        id={props.id}
        name={props.name ?? 'brokerConnectionId'}
        class="select"
        value={props.value ?? PAPER_ACCOUNT}
        onChange={(e) => props.onChange?.(e.currentTarget.value)}
      >
        <option value={PAPER_ACCOUNT}>Paper account (simulated)</option>
        <For each={list()}>
          {(c) => (
            <option value={c.id} disabled={!c.tradable} title={optionTitle(c)}>
              {optionLabel(c)}
              {c.tradable ? '' : ` — ${c.status.replaceAll('_', ' ')}`}
            </option>
          )}
        </For>
      </select>
      <Show when={connections.state().status === 'error'}>
        <span class="account-select-hint">Linked accounts could not be loaded: paper only.</span>
      </Show>
    </div>
  );
}
