import { numeric, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Money, prices and quantities: exact decimals, decimal strings at the edges, never floats. */
export const decimal = (name: string) => numeric(name, { precision: 38, scale: 12 });
/** Every timestamp is timestamptz, carried as a JS Date. */
export const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
export const createdAt = () => tstz('created_at').notNull().defaultNow();
export const updatedAt = () => tstz('updated_at').notNull().defaultNow();
/** The owning desk: every tenant-owned table carries it, with RLS on `app.tenant_id`. */
export const tenantId = () => uuid('tenant_id').notNull();
export const pkId = () => uuid('id').primaryKey().defaultRandom();
