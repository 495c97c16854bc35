import { createQuery } from '../lib/query.ts';
import { type RouterOutputs, trpc } from '../lib/trpc.ts';
import { type Column, DataTable } from './data-table/data-table.tsx';
import { QueryView } from './panel.tsx';

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

const columns: readonly Column<AuditEntry>[] = [
  { id: 'seq', header: 'Seq', numeric: true, class: 'dim', priority: 3, cell: (row) => row.seq },
  { id: 'time', header: 'Time (UTC)', class: 'mono', cell: (row) => utc(row.ts) },
  { id: 'action', header: 'Action', class: 'mono', cell: (row) => row.action },
  {
    id: 'outcome',
    header: 'Outcome',
    cell: (row) => <span class={`tag ${OUTCOME_CLASS[row.outcome]}`}>{row.outcome}</span>,
  },
  {
    id: 'actor',
    header: 'Actor',
    class: 'dim',
    priority: 2,
    // In words (the person, the key and whose it is, "system"); the raw id on hover.
    title: (row) => `${row.actorType}${row.actorId ? `:${row.actorId}` : ''}`,
    cell: (row) => row.actorName,
  },
  {
    id: 'target',
    header: 'Target',
    class: 'mono dim',
    priority: 3,
    title: (row) => row.targetId ?? undefined,
    cell: (row) => (row.targetType ? `${row.targetType}:${shortId(row.targetId ?? '')}` : '—'),
  },
  {
    id: 'details',
    header: 'Details',
    class: 'dim',
    wrap: true,
    priority: 2,
    title: (row) => row.details ?? undefined,
    cell: (row) => row.details ?? '—',
  },
  { id: 'ip', header: 'IP', class: 'mono dim', priority: 3, cell: (row) => row.ip ?? '—' },
  {
    id: 'request',
    header: 'Request',
    class: 'mono dim',
    priority: 3,
    title: (row) => row.requestId ?? undefined,
    cell: (row) => (row.requestId ? shortId(row.requestId) : '—'),
  },
];

/** Rows of the audit log, newest first. */
export function AuditRows(props: { items: readonly AuditEntry[]; loading?: boolean; empty?: string }) {
  return (
    <DataTable
      label="Audit log entries, newest first"
      rows={props.items}
      columns={columns}
      empty={props.empty ?? 'No audit entries match'}
      loading={props.loading ?? false}
      fill
    />
  );
}

/** The latest entries of the desk's audit log (admins only: the server enforces `audit.read`). */
export function AuditTable(props: { limit: number; pollMs?: number }) {
  const query = createQuery(() => trpc.audit.list.query({ limit: props.limit }), {
    pollMs: props.pollMs ?? 15_000,
  });
  return (
    <QueryView query={query} errorTitle="Could not load the audit log">
      {(page) => <AuditRows items={page.items} empty="No audit entries yet" />}
    </QueryView>
  );
}
