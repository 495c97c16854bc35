import { stringify } from 'csv-stringify/sync';
import { safeCell } from '../reports/csv-cells.ts';
import type { ViewEntry, ViewFilters, ViewPage } from './desk-view.ts';

/** The most rows one audit export carries; `truncated` says when the filters matched more. */
export const AUDIT_EXPORT_MAX_ROWS = 50_000;
const PAGE = 1000;

const HEADER = [
  'ts',
  'chain',
  'seq',
  'action',
  'outcome',
  'actor_type',
  'actor_id',
  'actor_name',
  'target_type',
  'target_id',
  'ip',
  'request_id',
  'details',
  'payload_digest',
  'prev_hash',
  'hash',
];

const row = (e: ViewEntry) => [
  e.ts,
  e.chain,
  e.seq,
  e.action,
  e.outcome,
  e.actorType,
  e.actorId,
  e.actorName,
  e.targetType,
  e.targetId,
  e.ip,
  e.requestId,
  e.details,
  e.payloadDigest,
  e.prevHash,
  e.hash,
];

/**
 * The filtered view as CSV, newest first, in the same order and with the same rows as paging
 * through `audit.list` with those filters: RFC 4180, a header row, formula-looking text cells
 * guarded. `readPage` is the list the rows come from (the desk's view or the platform chain).
 */
export async function exportAuditCsv(
  readPage: (f: ViewFilters) => Promise<ViewPage>,
  filters: Omit<ViewFilters, 'cursor' | 'limit'>,
  now: Date,
  scope: 'desk' | 'platform',
) {
  const entries: ViewEntry[] = [];
  let cursor: string | null = null;
  let truncated = false;
  for (;;) {
    const page = await readPage({ ...filters, limit: PAGE, ...(cursor ? { cursor } : {}) });
    entries.push(...page.items);
    cursor = page.nextCursor;
    if (entries.length > AUDIT_EXPORT_MAX_ROWS) {
      truncated = true;
      entries.length = AUDIT_EXPORT_MAX_ROWS;
      break;
    }
    if (!cursor) break;
    if (entries.length === AUDIT_EXPORT_MAX_ROWS) {
      truncated = true;
      break;
    }
  }
  const csv = stringify([HEADER, ...entries.map((e) => row(e).map(safeCell))], { record_delimiter: '\r\n' });
  const stamp = now.toISOString().slice(0, 19).replaceAll(':', '').replace('T', '-');
  return {
    filename: `aegis-audit-${scope}-${stamp}.csv`,
    contentType: 'text/csv' as const,
    rows: entries.length,
    csv,
    truncated,
  };
}
