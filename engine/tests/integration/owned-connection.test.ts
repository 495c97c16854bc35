import { createTestDatabase, type TestDatabase } from '@aegis/shared/testing/database';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OwnedConnection, ownConnection } from '../../src/db/owned-connection.ts';

/**
 * The one-connection client the halt listener, the signal publisher and the writer thread own:
 * a replaced connection must really be ended (its next query refused) and the fresh one usable;
 * a client the caller lent must never be ended or replaced.
 */
let db: TestDatabase;
let lent: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  lent = postgres(db.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await lent?.end({ timeout: 1 });
  await db?.drop();
});

const settingOf = async (sql: Sql, name: string) =>
  (await sql<{ v: string }[]>`select current_setting(${name}) as v`)[0]?.v;

describe('OwnedConnection', () => {
  it('opens once, replaces (ending the old client), counts, and ends the owned client', async () => {
    let opened = 0;
    const conn = new OwnedConnection({
      connect: () => {
        opened++;
        return ownConnection(db.url, { applicationName: 'aegis-owned-test', dbTimeoutMs: 1500 });
      },
    });
    expect(conn.current).toBeUndefined();
    const first = conn.open() as Sql;
    expect(conn.open()).toBe(first);
    expect(opened).toBe(1);
    expect(await settingOf(first, 'application_name')).toBe('aegis-owned-test');
    expect(await settingOf(first, 'statement_timeout')).toBe('1500ms');

    const second = conn.replace() as Sql;
    expect(second).not.toBe(first);
    expect(conn.current).toBe(second);
    expect(conn.replacements).toBe(1);
    await expect(first`select 1`).rejects.toMatchObject({ code: 'CONNECTION_ENDED' });
    expect(await settingOf(second, 'application_name')).toBe('aegis-owned-test');

    await conn.end();
    expect(conn.current).toBeUndefined();
    await expect(second`select 1`).rejects.toMatchObject({ code: 'CONNECTION_ENDED' });
  });

  it('uses a lent client as it is: never replaced, never ended', async () => {
    const conn = new OwnedConnection({ sql: lent });
    expect(conn.open()).toBe(lent);
    expect(conn.replace()).toBe(lent);
    expect(conn.replacements).toBe(0);
    await conn.end();
    expect(conn.current).toBeUndefined();
    expect((await lent`select 1 as one`)[0]?.one).toBe(1);
  });

  it('has no client without a source', () => {
    const conn = new OwnedConnection({});
    expect(conn.open()).toBeUndefined();
    expect(conn.replace()).toBeUndefined();
    expect(conn.replacements).toBe(0);
  });
});
