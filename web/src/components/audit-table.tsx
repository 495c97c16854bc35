import { For, Show } from 'solid-js';
import { createQuery } from '../lib/query.ts';
import { type RouterOutputs, trpc } from '../lib/trpc.ts';
import { EmptyState, QueryView } from './panel.tsx';

export type AuditEntry = RouterOutputs['audit']['list']['items'][number];

const OUTCOME_CLASS: Record<AuditEntry['outcome'], string> = {
  ok: 'tag-ok',
  denied: 'tag-bad',
  failed: 'tag-warn',
};

function utc(ts: string): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toISOString().slice(0, 19).replace('T', ' ');
}

/** Ids are UUIDs: the first block is enough to tell rows apart; the full id is in the tooltip. */
function shortId(id: string): string {
  return id.length > 13 ? `${id.slice(0, 8)}…` : id;
}

/** Rows of the audit log, newest first. */
export function AuditRows(props: { items: readonly AuditEntry[] }) {
  return (
    <table class="table">
      <caption class="visually-hidden">Audit log entries, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Seq</th>
          <th scope="col">Time (UTC)</th>
          <th scope="col">Action</th>
          <th scope="col">Outcome</th>
          <th scope="col">Actor</th>
          <th scope="col">Target</th>
          <th scope="col">Details</th>
          <th scope="col">IP</th>
          <th scope="col">Request</th>
        </tr>
      </thead>
      <tbody>
        <For each={props.items}>
          {(row) => (
            <tr>
              <td class="num dim">{row.seq}</td>
              <td class="mono">{utc(row.ts)}</td>
              <td class="mono">{row.action}</td>
              <td>
                <span class={`tag ${OUTCOME_CLASS[row.outcome]}`}>{row.outcome}</span>
              </td>
              <td class="mono dim" title={row.actorId ?? undefined}>
                {row.actorType}
                {row.actorId ? `:${shortId(row.actorId)}` : ''}
              </td>
              <td class="mono dim" title={row.targetId ?? undefined}>
                {row.targetType ? `${row.targetType}:${shortId(row.targetId ?? '')}` : '—'}
              </td>
              <td class="dim" title={row.details ?? undefined}>
                {row.details ?? '—'}
              </td>
              <td class="mono dim">{row.ip ?? '—'}</td>
              <td class="mono dim" title={row.requestId ?? undefined}>
                {row.requestId ? shortId(row.requestId) : '—'}
              </td>
            </tr>
          )}
        </For>
      </tbody>
    </table>
  );
}

/** The latest entries of the desk's audit log (admins only: the server enforces `audit.read`). */
export function AuditTable(props: { limit: number; pollMs?: number }) {
  const query = createQuery(() => trpc.audit.list.query({ limit: props.limit }), {
    pollMs: props.pollMs ?? 15_000,
  });
  return (
    <QueryView query={query} errorTitle="Could not load the audit log">
      {(page) => (
        <Show when={page.items.length > 0} fallback={<EmptyState title="No audit entries yet" />}>
          <div class="scroll">
            <AuditRows items={page.items} />
          </div>
        </Show>
      )}
    </QueryView>
  );
}
