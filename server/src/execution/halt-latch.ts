/**
 * The halt's in-memory latch: halts acknowledged while their PostgreSQL row is not
 * written yet (the database was unreachable when the engage came in; see halt.ts).
 *
 * One per server process, deliberately: it stands in for the `halts` row in exactly the
 * place that row is read — `readHalt()`, inside every order transaction, before the order is
 * written — so an order committed by this process after an engage was acknowledged is refused
 * even while the durable write is still being retried. Other processes latch the same halt from
 * the `aegis:halt` message. An entry leaves the latch once its row is durable (PostgreSQL is the
 * truth again) or on a release; a latch that outlives a missed message only refuses orders,
 * never allows one.
 */
import type { TenantId } from '@aegis/shared/ids';

const pendingDesks = new Set<TenantId>();
let pendingGlobal = false;

export const haltLatch = {
  engage(scope: 'global' | 'desk', tenantId: TenantId | null): void {
    if (scope === 'global') pendingGlobal = true;
    else if (tenantId) pendingDesks.add(tenantId);
  },
  /** The durable row landed, or the switch was released: the latch no longer speaks for it. */
  clear(scope: 'global' | 'desk', tenantId: TenantId | null): void {
    if (scope === 'global') pendingGlobal = false;
    else if (tenantId) pendingDesks.delete(tenantId);
  },
  /** What the latch adds to the rows read for a desk. */
  flags(tenantId: TenantId): { readonly global: boolean; readonly desk: boolean } {
    return { global: pendingGlobal, desk: pendingDesks.has(tenantId) };
  },
};
