/**
 * Database types and the tenant-scoped transaction, as the server uses them. The pools and
 * `withTenant` live in `@aegis/shared/db/client` (shared with the engine); this module names
 * them for server code so routers and services import one place.
 */
import type { Db, DbTx } from '@aegis/shared/db/client';

export { withTenant } from '@aegis/shared/db/client';
export type { Db };
/** A drizzle transaction; inside `withTenant` (and in desk procedures' `ctx.tx`) RLS applies. */
export type Tx = DbTx;
/** Either: services that need no tenant setting accept both. */
export type Queryable = Db | Tx;
