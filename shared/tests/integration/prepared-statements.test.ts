import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DatabaseHandle, withTenant } from '../../src/db/client.ts';
import { riskLimits } from '../../src/db/schema/index.ts';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '../../src/testing/database.ts';

/**
 * Drizzle's statements run prepared (patches/drizzle-orm+*.patch): postgres.js prepares each one
 * once per connection and runs it again by name, instead of PostgreSQL parsing and planning it
 * and the client describing its columns on every run. A statement with many parameters (a long
 * multi-row insert) stays unprepared, so its variants do not pile up in the connection's cache.
 * Seen from the connection itself: `pg_prepared_statements` lists what it holds.
 */
let database: MigratedTestDatabase;
let handle: DatabaseHandle;
const desk = '6a0c3e4e-0000-4000-8000-00000000f00d';

beforeAll(async () => {
  database = await createMigratedTestDatabase('aegis_prepared');
  handle = createDb(database.appUrl, { max: 1 });
});
afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

const held = (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) =>
  tx.execute<{ statement: string }>(sql`select statement from pg_prepared_statements`);

describe('drizzle statements', () => {
  it('are prepared once per connection and run again by name', async () => {
    const read = (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) =>
      tx.select().from(riskLimits).where(sql`${riskLimits.symbol} = ${'*'}`);
    const statements = await withTenant(handle.db, desk, async (tx) => {
      await read(tx);
      await read(tx);
      return held(tx);
    });
    const ours = statements.filter((s) => s.statement.includes('"risk_limits"'));
    expect(ours).toHaveLength(1);
    // The desk setting of withTenant is a drizzle statement too.
    expect(statements.some((s) => s.statement.includes("set_config('app.tenant_id'"))).toBe(true);
  });

  it('with more than 64 parameters stay unprepared', async () => {
    const many = Array.from({ length: 80 }, (_, i) => `S${i}`);
    const statements = await withTenant(handle.db, desk, async (tx) => {
      await tx.execute(
        sql`select count(*) from risk_limits where symbol in (${sql.join(
          many.map((s) => sql`${s}`),
          sql`, `,
        )})`,
      );
      return held(tx);
    });
    expect(statements.filter((s) => s.statement.includes('symbol in ('))).toHaveLength(0);
  });
});
