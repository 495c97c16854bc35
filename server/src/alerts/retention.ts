import { tenants } from '@aegis/shared/db';
import { type SQL, sql } from 'drizzle-orm';
import { type Db, withTenant } from '../db/database.ts';

/**
 * Alert retention: desk events (`alert_events`) and their finished webhook deliveries older than
 * the retention are deleted, desk by desk (the tables are row-level secured per desk), in small
 * batches of one transaction each, so a large backlog never holds a long lock. A delivery still
 * pending or being sent is never deleted, nor is its event (the delivery references it and the
 * reference cascades). Read marks and attempt logs go with their event or delivery. Scans look
 * back minutes (event-sources.ts), so a pruned cause is never announced again.
 */
export interface PruneResult {
  readonly events: number;
  readonly deliveries: number;
}

export async function pruneAlerts(
  db: Db,
  options: { readonly olderThan: Date; readonly batchSize?: number },
): Promise<PruneResult> {
  const batch = options.batchSize ?? 1000;
  const cutoff = options.olderThan.toISOString();
  const desks = await db.select({ id: tenants.id }).from(tenants);
  // Deletes `batch` rows at a time, one transaction each, until a batch comes back short.
  const drain = async (desk: string, del: SQL): Promise<number> => {
    let total = 0;
    for (;;) {
      const n = await withTenant(db, desk, async (tx) => (await tx.execute(del)).length);
      total += n;
      if (n < batch) return total;
    }
  };
  let events = 0;
  let deliveries = 0;
  for (const { id } of desks) {
    deliveries += await drain(
      id,
      sql`delete from alert_deliveries where id in (
            select d.id from alert_deliveries d
            where d.tenant_id = ${id}::uuid and d.created_at < ${cutoff}::timestamptz
              and d.status in ('delivered', 'dead')
            limit ${batch})
          returning id`,
    );
    events += await drain(
      id,
      sql`delete from alert_events where id in (
            select e.id from alert_events e
            where e.tenant_id = ${id}::uuid and e.created_at < ${cutoff}::timestamptz
              and not exists (select 1 from alert_deliveries d
                              where d.event_id = e.id and d.status in ('pending', 'sending'))
            limit ${batch})
          returning id`,
    );
  }
  return { events, deliveries };
}
