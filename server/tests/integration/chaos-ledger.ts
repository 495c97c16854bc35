import type { Sql } from 'postgres';
import type { BrokerAdapter } from '../../src/brokers/types.ts';
import type { OrderRecord } from './chaos-harness.ts';

/**
 * The chaos suite's ledger check: what the client was told (one record per idempotency key),
 * what PostgreSQL stored, and what the paper broker holds, compared order by order. Read as the
 * owner role (no RLS) after the run has settled. Nothing here asserts; the test does.
 */
export interface LedgerInput {
  readonly owner: Sql;
  readonly deskId: string;
  readonly records: readonly OrderRecord[];
  /** The desk's broker account (the paper broker, in the server process). */
  readonly broker: BrokerAdapter | null;
  /** The server's log lines, searched for the orders that disagree with the broker. */
  readonly serverLogs: readonly Record<string, unknown>[];
}

export async function checkLedger({ owner, deskId, records, broker, serverLogs }: LedgerInput) {
  const dbOrders = await owner`
    select id, client_order_id, status, filled_quantity::text as filled, origin
    from orders where tenant_id = ${deskId}`;
  const byId = new Map(dbOrders.map((o) => [o.id as string, o]));
  const [dupCoid] = await owner`
    select count(*)::int as n from (
      select client_order_id from orders group by tenant_id, client_order_id having count(*) > 1) d`;
  const [outbox] = await owner`select count(*)::int as n from outbox where dispatched_at is null`;
  const stuck = dbOrders.filter((o) =>
    ['pending_new', 'unknown', 'pending_cancel'].includes(o.status as string),
  );

  const accepted = records.filter((r) => r.final && r.final.status !== 'denied');
  const denied = records.filter((r) => r.final?.status === 'denied');
  const refused = records.filter((r) => r.refused);
  const undecided = records.filter((r) => !r.final && !r.refused);
  const perKeyDuplicates = records.reduce((n, r) => n + Math.max(0, r.orderIds.size - 1), 0);
  const answeredIds = new Set(records.flatMap((r) => [...r.orderIds]));
  const orphans = dbOrders.filter((o) => !answeredIds.has(o.id as string));
  const storedAccepted = accepted.filter((r) => {
    const row = byId.get(r.final!.id);
    return row !== undefined && row.status !== 'denied';
  });
  const missing = accepted.filter((r) => !byId.has(r.final!.id));

  const mismatches: string[] = [];
  const mismatchIds: string[] = [];
  let atBroker = 0;
  for (const r of storedAccepted) {
    const row = byId.get(r.final!.id)!;
    const b = await broker?.getOrderByClientId(row.client_order_id as string);
    if (!b) {
      mismatches.push(`${row.client_order_id}: not at the broker (db ${row.status})`);
      continue;
    }
    atBroker++;
    if (b.status !== row.status || Number(b.filledQuantity) !== Number(row.filled)) {
      mismatchIds.push(row.id as string, row.client_order_id as string);
      mismatches.push(
        `#${r.index} at ${(r.startedAtMs / 1000).toFixed(1)} s ${r.input.side} ${r.input.orderType} ${r.input.quantity} ${r.input.symbol} (${row.client_order_id}): db ${row.status}/${Number(row.filled)}, broker ${b.status}/${Number(b.filledQuantity)}`,
      );
    }
  }
  // What the server logged about each order whose database row disagrees with the broker.
  const mismatchLogs = mismatchIds.flatMap((id) =>
    serverLogs
      .filter((l) => JSON.stringify(l).includes(id))
      .map(
        (l) =>
          `${id.slice(0, 8)} ${l.time} ${l.level} ${l.msg} ${JSON.stringify(l.err ?? l.kind ?? '').slice(0, 300)}`,
      ),
  );
  const brokerOpen = (await broker?.listOpenOrders()) ?? [];
  const dbCoids = new Set(dbOrders.map((o) => o.client_order_id as string));
  const brokerOnly = brokerOpen.filter((o) => !dbCoids.has(o.clientOrderId));
  const brokerPositions = new Map(
    ((await broker?.listPositions()) ?? []).map((p) => [p.symbol, Number(p.quantity)]),
  );
  const dbPositionRows =
    await owner`select symbol, quantity::text as q from positions where tenant_id = ${deskId}`;
  const dbPositions = new Map(
    dbPositionRows.filter((p) => Number(p.q) !== 0).map((p) => [p.symbol as string, Number(p.q)]),
  );

  return {
    dupCoid: Number(dupCoid?.n ?? 0),
    outboxPending: Number(outbox?.n ?? 0),
    stuck,
    accepted,
    denied,
    refused,
    undecided,
    perKeyDuplicates,
    orphans,
    storedAccepted,
    missing,
    atBroker,
    mismatches,
    mismatchLogs,
    brokerOnly,
    dbPositions,
    brokerPositions,
  };
}
