import { randomUUID } from 'node:crypto';
import { createDb, type DatabaseHandle } from '@aegis/shared/db/client';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneAlerts } from '../../src/alerts/retention.ts';

/**
 * Alert retention over a real database, through the application role (row-level security per
 * desk): old events and their finished deliveries go, recent ones stay, an old delivery still
 * pending keeps itself and its event, and a backlog larger than one batch is pruned whole.
 */
let database: MigratedTestDatabase;
let app: DatabaseHandle;
let owner: postgres.Sql;
const deskA = randomUUID();
const deskB = randomUUID();
const endpointA = randomUUID();
const endpointB = randomUUID();
const DAY = 86_400_000;

beforeAll(async () => {
  database = await createMigratedTestDatabase('aegis_test_alert_retention');
  owner = postgres(database.url, { max: 2, onnotice: () => {} });
  await owner`insert into tenants (id, slug, name) values (${deskA}, 'desk-a', 'Desk A'), (${deskB}, 'desk-b', 'Desk B')`;
  await owner`insert into alert_endpoints (id, tenant_id, name, url, format, events, secret_sealed)
    values (${endpointA}, ${deskA}, 'a', 'https://example.com/a', 'aegis', '{order.filled}', 'sealed'),
           (${endpointB}, ${deskB}, 'b', 'https://example.com/b', 'aegis', '{order.filled}', 'sealed')`;
  app = createDb(database.appUrl, { max: 4 });
});

afterAll(async () => {
  await app?.close();
  await owner?.end();
  await database?.drop();
});

/** `n` events of `desk`, `ageDays` old, each with one delivery in `status`. */
async function addEvents(
  desk: string,
  endpoint: string,
  n: number,
  ageDays: number,
  status: string,
  tag: string,
) {
  await owner`
    with e as (
      insert into alert_events (tenant_id, kind, severity, title, body, source_key, created_at)
      select ${desk}, 'order.filled', 'info', 'Filled', 'filled', ${tag} || '-' || g, now() - make_interval(days => ${ageDays})
      from generate_series(1, ${n}) g
      returning id, created_at)
    insert into alert_deliveries (tenant_id, endpoint_id, event_id, kind, payload, status, created_at)
    select ${desk}, ${endpoint}, e.id, 'order.filled', '{}'::jsonb, ${status}, e.created_at from e`;
}

const count = async (table: 'alert_events' | 'alert_deliveries', desk: string) =>
  Number((await owner`select count(*)::int as n from ${owner(table)} where tenant_id = ${desk}`)[0]!.n);

describe('pruneAlerts', () => {
  it('deletes what is past retention, in batches, and keeps pending deliveries with their events', async () => {
    await addEvents(deskA, endpointA, 25, 120, 'delivered', 'old-delivered');
    await addEvents(deskA, endpointA, 3, 120, 'dead', 'old-dead');
    await addEvents(deskA, endpointA, 2, 120, 'pending', 'old-pending');
    await addEvents(deskA, endpointA, 1, 120, 'sending', 'old-sending');
    await addEvents(deskA, endpointA, 4, 10, 'delivered', 'recent');
    await addEvents(deskB, endpointB, 12, 100, 'delivered', 'b-old');
    await addEvents(deskB, endpointB, 2, 1, 'pending', 'b-recent');

    const r = await pruneAlerts(app.db, { olderThan: new Date(Date.now() - 90 * DAY), batchSize: 5 });

    expect(r).toEqual({ events: 25 + 3 + 12, deliveries: 25 + 3 + 12 });
    // Desk A: the recent 4 and the 3 old ones still to be delivered stay, with their deliveries.
    expect(await count('alert_events', deskA)).toBe(4 + 3);
    expect(await count('alert_deliveries', deskA)).toBe(4 + 3);
    const kept = await owner<{ status: string }[]>`
      select d.status from alert_deliveries d join alert_events e on e.id = d.event_id
      where d.tenant_id = ${deskA} and e.created_at < now() - interval '90 days' order by d.status`;
    expect(kept.map((k) => k.status)).toEqual(['pending', 'pending', 'sending']);
    expect(await count('alert_events', deskB)).toBe(2);
    expect(await count('alert_deliveries', deskB)).toBe(2);

    // Nothing more to do: a second run deletes nothing.
    expect(await pruneAlerts(app.db, { olderThan: new Date(Date.now() - 90 * DAY), batchSize: 5 })).toEqual({
      events: 0,
      deliveries: 0,
    });
  });
});
