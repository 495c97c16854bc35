import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import { type SQL, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/database.ts';
import { queryRows } from '../db/rows.ts';
import { actorKey, actorNames } from './actor-names.ts';
import { type AuditEntry, type RawRow, ROW_COLUMNS, toAuditEntry, UTC_MS_ISO } from './chain-rows.ts';
import { type AuditRowFilters, filterConditions } from './service.ts';

/**
 * The audit trail as a desk's people read it: the desk's own chain, merged by time with the
 * platform-chain events that concern the desk, each row named by its chain and its actor in
 * words. Platform events shown to a desk:
 *
 *   - sign-ins (`auth.login`, ok and failed) and password changes (`auth.change_password`) of the
 *     desk's current members, from the moment each joined the desk;
 *   - global halts (`halt.engage`, `halt.release` on the platform chain) since the desk exists.
 *
 * RLS lets a desk transaction read only its own chain, so the platform rows are read with the desk
 * setting cleared for that one statement (in the same transaction), restricted in SQL to the rows
 * above. Each row keeps the seq
 * of its own chain (`audit.verify` checks the chains one by one).
 *
 * Order: newest first by (ts, chain, seq), the desk's row first on an equal timestamp. Within a
 * chain ts never decreases with seq (appends are serialized and stamped on the database clock),
 * so this order is each chain's seq order, interleaved. The cursor is that triple.
 */

export type AuditChainName = 'desk' | 'platform';

/** Platform actions a desk sees for its members, and the global halt actions every desk sees. */
export const MEMBER_SECURITY_ACTIONS = ['auth.login', 'auth.change_password'] as const;
export const GLOBAL_HALT_ACTIONS = ['halt.engage', 'halt.release'] as const;

export interface ViewFilters extends AuditRowFilters {
  /** Only one chain; both when omitted. */
  chain?: AuditChainName;
  /** Opaque, from a previous page's `nextCursor` (also the older `s:<seq>` form of the desk chain). */
  cursor?: string;
  /** Only desk-chain rows newer than this seq (following the desk chain); platform rows excluded. */
  sinceSeq?: number;
  limit: number;
}

/** An audit row with the chain it belongs to and its actor in words. */
export interface ViewEntry extends AuditEntry {
  chain: AuditChainName;
  actorName: string;
}

export interface ViewPage {
  items: ViewEntry[];
  nextCursor: string | null;
}

type Unnamed = Omit<ViewEntry, 'actorName'>;

function toEntry(r: RawRow, chain: AuditChainName): Unnamed {
  return { ...toAuditEntry(r), chain };
}

const CHAIN_RANK: Record<AuditChainName, number> = { platform: 0, desk: 1 };

interface Cursor {
  ts: string;
  chain: AuditChainName;
  seq: number;
}

export function encodeViewCursor(c: Cursor): string {
  return Buffer.from(`t:${c.ts},${c.chain},${c.seq}`, 'utf8').toString('base64url');
}

type DecodedCursor = Cursor | { legacyDeskSeq: number };

export function decodeViewCursor(cursor: string): DecodedCursor {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const t = /^t:(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z),(desk|platform),(\d{1,15})$/.exec(text);
  if (t && !Number.isNaN(Date.parse(t[1] as string))) {
    return { ts: t[1] as string, chain: t[2] as AuditChainName, seq: Number(t[3]) };
  }
  const s = /^s:(\d{1,15})$/.exec(text);
  if (s) return { legacyDeskSeq: Number(s[1]) };
  throw new AppError(ErrorCode.BAD_INPUT, 'cursor: invalid cursor', { field: 'cursor' });
}

/** Newest first by (ts, chain rank, seq). */
function compareDesc(a: Unnamed, b: Unnamed): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? 1 : -1;
  if (a.chain !== b.chain) return CHAIN_RANK[b.chain] - CHAIN_RANK[a.chain];
  return b.seq - a.seq;
}

/** Rows of `chain` strictly after the cursor in the view's order. */
function afterCursor(chain: AuditChainName, c: Cursor): SQL {
  const rank = CHAIN_RANK[chain];
  const cRank = CHAIN_RANK[c.chain];
  if (rank === cRank) return sql`(ts, seq) < (${c.ts}::timestamptz, ${c.seq})`;
  return rank < cRank ? sql`ts <= ${c.ts}::timestamptz` : sql`ts < ${c.ts}::timestamptz`;
}

async function fetchRows(db: Db | Tx, where: SQL[], limit: number): Promise<RawRow[]> {
  return await queryRows<RawRow>(
    db,
    sql`
    select ${ROW_COLUMNS} from audit_log
    where ${sql.join(where, sql` and `)}
    order by audit_log.ts desc, audit_log.seq desc limit ${limit}`,
  );
}

/** Reads the platform chain: a transaction without a desk setting (RLS: platform rows only). */
export function platformTx<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', '', true)`);
    return fn(tx);
  });
}

async function withNames(tx: Tx, rows: Unnamed[]): Promise<ViewEntry[]> {
  const names = await actorNames(
    tx,
    rows.map((r) => ({ type: r.actorType, id: r.actorId })),
  );
  return rows.map((r) => ({
    ...r,
    actorName: names.get(actorKey(r.actorType, r.actorId))?.name ?? r.actorType,
  }));
}

/** One page of a desk's view. `tx` is the desk's transaction (RLS on the desk). */
export async function deskView(tx: Tx, deskId: TenantId, f: ViewFilters): Promise<ViewPage> {
  const limit = Math.min(Math.max(f.limit, 1), 1000);
  let cursor: Cursor | null = null;
  let legacySeq: number | null = null;
  if (f.cursor !== undefined) {
    const d = decodeViewCursor(f.cursor);
    if ('legacyDeskSeq' in d) {
      legacySeq = d.legacyDeskSeq;
      // The older cursor named a desk row; its time places the platform rows.
      const [row] = (await tx.execute(sql`
        select to_char(ts at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as ts from audit_log
        where tenant_id = ${deskId}::uuid and seq = ${legacySeq}`)) as unknown as Array<{ ts: string }>;
      if (row) cursor = { ts: row.ts, chain: 'desk', seq: legacySeq };
    } else cursor = d;
  }
  const common = filterConditions(f);
  const wantDesk = f.chain !== 'platform';
  const wantPlatform =
    f.chain !== 'desk' && f.sinceSeq === undefined && (legacySeq === null || cursor !== null);

  const deskRows = wantDesk
    ? await fetchRows(
        tx,
        [
          sql`tenant_id = ${deskId}::uuid`,
          ...common,
          ...(cursor ? [afterCursor('desk', cursor)] : legacySeq !== null ? [sql`seq < ${legacySeq}`] : []),
          ...(f.sinceSeq !== undefined ? [sql`seq > ${f.sinceSeq}`] : []),
        ],
        limit + 1,
      )
    : [];

  let platformRows: RawRow[] = [];
  if (wantPlatform) {
    const members = (await tx.execute(sql`
      select user_id::text as user_id,
             to_char(created_at at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as since
      from memberships where tenant_id = ${deskId}::uuid`)) as unknown as Array<{
      user_id: string;
      since: string;
    }>;
    const [desk] = (await tx.execute(sql`
      select to_char(created_at at time zone 'UTC', ${sql.raw(UTC_MS_ISO)}) as since
      from tenants where id = ${deskId}::uuid`)) as unknown as Array<{ since: string }>;
    const ids = `{${members.map((m) => m.user_id).join(',')}}`;
    const sinces = `{${members.map((m) => m.since).join(',')}}`;
    const concerns = sql`(
      (action in (${sql.join(
        MEMBER_SECURITY_ACTIONS.map((a) => sql`${a}`),
        sql`, `,
      )}) and exists (
        select 1 from unnest(${ids}::text[], ${sinces}::timestamptz[]) as m(user_id, since)
        where m.user_id = audit_log.actor_id and audit_log.ts >= m.since))
      or (action in (${sql.join(
        GLOBAL_HALT_ACTIONS.map((a) => sql`${a}`),
        sql`, `,
      )}) and ts >= ${desk?.since ?? '1970-01-01T00:00:00.000Z'}::timestamptz))`;
    // In the desk's own transaction, with the desk setting cleared for this one read (RLS then
    // shows platform rows only) and put back after it: a second transaction would need a second
    // pooled connection while this one is held, which a small pool under load cannot give.
    await tx.execute(sql`select set_config('app.tenant_id', '', true)`);
    try {
      platformRows = await fetchRows(
        tx,
        [sql`tenant_id is null`, concerns, ...common, ...(cursor ? [afterCursor('platform', cursor)] : [])],
        limit + 1,
      );
    } finally {
      await tx.execute(sql`select set_config('app.tenant_id', ${deskId}, true)`);
    }
  }

  const merged = [
    ...deskRows.map((r) => toEntry(r, 'desk')),
    ...platformRows.map((r) => toEntry(r, 'platform')),
  ].sort(compareDesc);
  const page = merged.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: await withNames(tx, page),
    nextCursor: merged.length > limit && last ? encodeViewCursor(last) : null,
  };
}

/** One page of the platform chain alone (platform administrators), with actor names. */
export async function platformView(db: Db, f: ViewFilters): Promise<ViewPage> {
  const limit = Math.min(Math.max(f.limit, 1), 1000);
  let cursor: Cursor | null = null;
  let legacySeq: number | null = null;
  if (f.cursor !== undefined) {
    const d = decodeViewCursor(f.cursor);
    if ('legacyDeskSeq' in d) legacySeq = d.legacyDeskSeq;
    else cursor = { ...d, chain: 'platform' };
  }
  return platformTx(db, async (tx) => {
    const rows = await fetchRows(
      tx,
      [
        sql`tenant_id is null`,
        ...filterConditions(f),
        ...(cursor ? [afterCursor('platform', cursor)] : []),
        ...(legacySeq !== null ? [sql`seq < ${legacySeq}`] : []),
        ...(f.sinceSeq !== undefined ? [sql`seq > ${f.sinceSeq}`] : []),
      ],
      limit + 1,
    );
    const page = rows.slice(0, limit).map((r) => toEntry(r, 'platform'));
    const last = page[page.length - 1];
    return {
      items: await withNames(tx, page),
      nextCursor: rows.length > limit && last ? encodeViewCursor(last) : null,
    };
  });
}
