import type { TenantId } from '@aegis/shared/ids';
import { type SQL, sql } from 'drizzle-orm';
import { queryRows, type RawExecutor } from '../db/rows.ts';
import {
  type AuditActorType,
  type AuditOutcome,
  type ChainBreakReason,
  type ChainCursor,
  checkChainRows,
  GENESIS_HASH,
  type StoredChainRow,
} from './chain.ts';

/**
 * Audit rows as every reader reads them back: the column list in the exact textual form that was
 * hashed (ts in UTC to the millisecond, host() of the IP), the raw row, its typed entry, and the
 * walk that checks a chain page by page. `verify` (service.ts), the background verify job
 * (verify-job.ts) and the desk view (desk-view.ts) read through here, so a row can never be read
 * one way and hashed another.
 */

/** to_char format of a timestamp as the chain hashes it (UTC, milliseconds, ISO). */
export const UTC_MS_ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** Columns read back for verify and list, in the exact textual form that was hashed. */
export const ROW_COLUMNS = sql.raw(`
  id::text as id, tenant_id::text as tenant_id, seq::text as seq,
  to_char(ts at time zone 'UTC', ${UTC_MS_ISO}) as ts, actor_type, actor_id, action, target_type,
  target_id, outcome, request_id, host(ip) as ip, payload_digest, details, prev_hash, hash`);

export interface RawRow {
  id: string;
  /** The row's chain, read from `audit_log`: its desk, or null for the platform chain. */
  tenant_id: TenantId | null;
  seq: string;
  ts: string;
  actor_type: AuditActorType;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: AuditOutcome;
  request_id: string | null;
  ip: string | null;
  payload_digest: string;
  details: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditEntry extends StoredChainRow {
  id: number;
}

export function toAuditEntry(r: RawRow): AuditEntry {
  return {
    id: Number(r.id),
    tenantId: r.tenant_id,
    seq: Number(r.seq),
    ts: r.ts,
    actorType: r.actor_type,
    actorId: r.actor_id,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    outcome: r.outcome,
    requestId: r.request_id,
    ip: r.ip,
    payloadDigest: r.payload_digest,
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** The rows of one chain (tenant null = the platform chain). */
export const chainFilter = (tenantId: TenantId | null): SQL =>
  sql`tenant_id is not distinct from ${tenantId}::uuid`;

/** Up to `pageSize` rows of one chain after `afterSeq`, in seq order. */
export async function readChainPage(
  db: RawExecutor,
  tenantId: TenantId | null,
  afterSeq: number,
  pageSize: number,
): Promise<AuditEntry[]> {
  const rows = await queryRows<RawRow>(
    db,
    sql`
    select ${ROW_COLUMNS} from audit_log
    where ${chainFilter(tenantId)} and seq > ${afterSeq}
    order by audit_log.seq asc limit ${pageSize}`,
  );
  return rows.map(toAuditEntry);
}

export type ChainWalkResult =
  | { ok: true; rows: number; head: ChainCursor }
  | { ok: false; rows: number; brokenAtSeq: number; reason: ChainBreakReason | 'anchor_missing' };

/**
 * Walks a chain from the start: `readPage` gives the rows after a seq (ascending, at most
 * `pageSize`), `afterPage` hears the rows checked so far after each full page. Returns the first
 * break or the head. An `anchor` (a head recorded earlier) must be found with its hash: deleting
 * the newest rows leaves a valid shorter chain, which only the anchor exposes.
 */
export async function walkChain(
  readPage: (afterSeq: number) => Promise<readonly StoredChainRow[]>,
  pageSize: number,
  anchor: ChainCursor | undefined,
  afterPage: (rows: number) => Promise<void> = async () => {},
): Promise<ChainWalkResult> {
  let cursor: ChainCursor = { seq: 0, hash: GENESIS_HASH };
  let rows = 0;
  let anchorSeen = false;
  for (;;) {
    const page = await readPage(cursor.seq);
    if (page.length === 0) break;
    const checked = checkChainRows(cursor, page);
    if (!checked.ok) return { ok: false, rows, brokenAtSeq: checked.seq, reason: checked.reason };
    if (anchor) {
      const match = page.find((r) => r.seq === anchor.seq);
      if (match) {
        if (match.hash !== anchor.hash)
          return { ok: false, rows, brokenAtSeq: anchor.seq, reason: 'hash_mismatch' };
        anchorSeen = true;
      }
    }
    rows += page.length;
    cursor = checked.cursor;
    if (page.length < pageSize) break;
    await afterPage(rows);
  }
  return anchor && anchor.seq > 0 && !anchorSeen
    ? { ok: false, rows, brokenAtSeq: cursor.seq + 1, reason: 'anchor_missing' }
    : { ok: true, rows, head: cursor };
}
