import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropPartitionsBefore,
  ensurePartitions,
  refreshBars,
  runPartitionUpkeep,
} from '../../src/db/partitions.ts';
import { createMigratedTestDatabase, type MigratedTestDatabase } from '../../src/testing/database.ts';

/** Native-partition path (this machine's PostgreSQL has no TimescaleDB). */
describe('native time partitions', () => {
  let database: MigratedTestDatabase;
  let owner: Sql;
  let app: Sql;

  const partitionsOf = async (table: string) =>
    (
      await owner<{ relname: string }[]>`
        select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = ${table}::regclass order by 1`
    ).map((r) => r.relname);

  const tick = (ts: string, seq: number) => ({
    ts: new Date(ts),
    ts_ingest: new Date(ts),
    symbol: 'ETH-USD',
    seq,
    kind: 1,
    price: '2500.5',
    size: '0.25',
  });

  beforeAll(async () => {
    database = await createMigratedTestDatabase();
    owner = postgres(database.url, { max: 1, onnotice: () => {} });
    app = postgres(database.appUrl, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await app?.end();
    await owner?.end();
    await database?.drop();
  });

  it('the time-series tables are range-partitioned by time with a DEFAULT partition and today', async () => {
    expect((await owner`select aegis_timeseries_backend() as b`)[0]?.b).toBe('native');
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    for (const table of ['ticks', 'orderflow_events', 'features', 'signals', 'equity_snapshots', 'bars_1s']) {
      const [rel] = await owner`select relkind::text from pg_class where oid = ${table}::regclass`;
      expect(rel?.relkind, table).toBe('p');
      const parts = await partitionsOf(table);
      expect(parts, table).toContain(`${table}_default`);
      expect(parts, table).toContain(`${table}_p${today}`);
    }
    // Keys and index names survive the conversion (later drizzle migrations refer to them).
    const idx = await owner`select indexname from pg_indexes where tablename = 'orderflow_events' order by 1`;
    expect(idx.map((r) => r.indexname)).toEqual([
      'orderflow_events_hash_key',
      'orderflow_events_id_ts_pk',
      'orderflow_events_source_seq_idx',
      'orderflow_events_tenant_symbol_ts_idx',
    ]);
  });

  it('aegis_ensure_partitions creates future daily partitions idempotently (as the app role)', async () => {
    const [first] = await app`
      select aegis_ensure_partitions('ticks', '2031-03-01T00:00:00Z', '2031-03-04T00:00:00Z') as n`;
    expect(first?.n).toBe(3);
    const [again] = await app`
      select aegis_ensure_partitions('ticks', '2031-03-01T12:00:00Z', '2031-03-04T00:00:00Z') as n`;
    expect(again?.n).toBe(0);
    const parts = await partitionsOf('ticks');
    expect(parts).toEqual(expect.arrayContaining(['ticks_p20310301', 'ticks_p20310302', 'ticks_p20310303']));
    expect(parts).not.toContain('ticks_p20310304');
    // A row lands in its day's partition.
    await owner`insert into ticks ${owner(tick('2031-03-02T10:00:00Z', 1))}`;
    const [where] = await owner`select tableoid::regclass::text as part from ticks where seq = 1`;
    expect(where?.part).toBe('ticks_p20310302');
  });

  it('inserts outside every partition land in DEFAULT and move out when their day is created', async () => {
    await owner`insert into ticks ${owner([tick('2019-06-01T08:00:00Z', 10), tick('2019-06-01T09:00:00Z', 11)])}`;
    const before = await owner`select tableoid::regclass::text as part from ticks where seq in (10, 11)`;
    expect(before.map((r) => r.part)).toEqual(['ticks_default', 'ticks_default']);
    const [made] =
      await app`select aegis_ensure_partitions('ticks', '2019-06-01T00:00:00Z', '2019-06-02T00:00:00Z') as n`;
    expect(made?.n).toBe(1);
    const after = await owner`select tableoid::regclass::text as part from ticks where seq in (10, 11)`;
    expect(after.map((r) => r.part)).toEqual(['ticks_p20190601', 'ticks_p20190601']);
  });

  it('aegis_drop_partitions_before drops whole old days and purges old DEFAULT rows', async () => {
    await app`select aegis_ensure_partitions('features', '2020-01-01T00:00:00Z', '2020-01-04T00:00:00Z')`;
    await owner`insert into features (ts, symbol, ema_fast, ema_slow, vwap, realized_vol, order_flow_imbalance, micro_price, spread_z, momentum)
                values ('2020-01-02T05:00:00Z', 'X', 1, 1, 1, 1, 0, 1, 0, 0),
                       ('2018-05-05T05:00:00Z', 'X', 1, 1, 1, 1, 0, 1, 0, 0)`;
    const [dropped] = await app`select aegis_drop_partitions_before('features', '2020-01-03T00:00:00Z') as n`;
    expect(dropped?.n).toBe(2); // 2020-01-01 and 2020-01-02; 2020-01-03 ends after the cut
    const parts = await partitionsOf('features');
    expect(parts).not.toContain('features_p20200101');
    expect(parts).not.toContain('features_p20200102');
    expect(parts).toContain('features_p20200103');
    expect(parts).toContain('features_default');
    const [left] = await owner`select count(*)::int as n from features where ts < '2020-01-03T00:00:00Z'`;
    expect(left?.n).toBe(0);
  });

  it('upkeep runs for every time-series table and refuses tables that are not partitioned', async () => {
    const rows = await app`select * from aegis_partition_upkeep(3)`;
    expect(rows.map((r) => r.table_name).sort()).toEqual(
      ['bars_1s', 'equity_snapshots', 'features', 'orderflow_events', 'signals', 'ticks'].sort(),
    );
    await expect(
      app`select aegis_ensure_partitions('orders', now(), now() + interval '1 day')`,
    ).rejects.toMatchObject({
      code: '42809',
    });
    // Not a time-series table: no retention entry, so nothing may be dropped from it.
    await expect(app`select aegis_drop_partitions_before('users', now())`).rejects.toMatchObject({
      code: '42501',
    });
  });

  it('the TypeScript wrappers work as the app role; bars are readable but not writable by it', async () => {
    expect(
      await ensurePartitions(
        app,
        'signals',
        new Date('2032-01-01T00:00:00Z'),
        new Date('2032-01-03T00:00:00Z'),
      ),
    ).toBe(2);
    expect(
      await ensurePartitions(
        app,
        'ticks',
        new Date('2021-01-01T00:00:00Z'),
        new Date('2021-01-03T00:00:00Z'),
      ),
    ).toBe(2);
    expect(await dropPartitionsBefore(app, 'ticks', new Date('2021-01-02T00:00:00Z'))).toBeGreaterThanOrEqual(
      1,
    );
    // Retention is a ceiling: records are never dropped, recent rows never.
    await expect(
      dropPartitionsBefore(app, 'signals', new Date('2032-01-02T00:00:00Z')),
    ).rejects.toMatchObject({
      code: '42501',
    });
    await expect(dropPartitionsBefore(app, 'ticks', new Date())).rejects.toMatchObject({ code: '22023' });
    const upkeep = await runPartitionUpkeep(app, 2);
    expect(upkeep).toHaveLength(6);
    await refreshBars(app, new Date('2031-03-02T00:00:00Z'), new Date('2031-03-03T00:00:00Z'));
    const [bar] =
      await app`select symbol, trade_count, open from bars_1m where bucket = '2031-03-02T10:00:00Z'`;
    expect(bar).toEqual({ symbol: 'ETH-USD', trade_count: '1', open: '2500.500000000000' });
    await expect(app`delete from bars_1m`).rejects.toMatchObject({ code: '42501' });
    await expect(app`insert into bars_1s (bucket, symbol) values (now(), 'X')`).rejects.toMatchObject({
      code: '42501',
    });
  });
});
