/**
 * How fast can ticks reach PostgreSQL? One question, four answers from the same run, the same
 * synthetic ticks (BENCH_PERSIST_ROWS, default 1,000,000; 64 symbols) and the same database:
 *
 *   ceiling        COPY (FORMAT binary) of a stream encoded before the clock starts, into a table
 *                  LIKE ticks (float8 market data, the identity index): the database alone
 *   ceiling, no index   the same without the (symbol, ts, seq) index: what the index costs
 *   writer alone   TimescaleWriter (binary encoder, exactly-once transaction: flush token, cursor
 *                  row) from a TICK ring into `ticks` (today's partition), batches of
 *                  BENCH_PERSIST_BATCH (65,536, as engine/bench/engine.ts), no engine running;
 *                  again with synchronous_commit off in its transactions (asyncCommit)
 *   naive baseline the previous writer's encoder (text COPY, numbers through String()) into the
 *                  previous schema (numeric(38,12) market data); and into today's schema, which
 *                  separates the format's share from the column types'
 *
 *   node engine/bench/persist.ts        (npm run bench:persist)
 *
 * Prints a table; writes bench/results/persist.json. Numbers on a busy machine are noisy: the
 * JSON records the load average at start and end.
 */
import { loadavg } from 'node:os';
import { createLogger } from '@aegis/shared/logging';
import { machineInfo, writeBenchResult } from '@aegis/shared/testing/bench-report';
import { createMigratedTestDatabase } from '@aegis/shared/testing/database';
import postgres from 'postgres';
import { SymbolNamesReader } from '../src/feeds/symbol-table.ts';
import { copyIn } from '../src/writer/copy-stream.ts';
import { TICK_COLUMNS, tickTextChunks } from '../src/writer/tick-copy.ts';
import { WRITER_STAT } from '../src/writer/timescale-writer.ts';
import { measurePersistCeiling, syntheticTicks, writerOverTicks } from './lib/persist-ceiling.ts';

const log = createLogger({ name: 'bench-persist', level: 'silent' });
const env = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};
const ROWS = env('BENCH_PERSIST_ROWS', 1_000_000);
const BATCH = env('BENCH_PERSIST_BATCH', 65_536);

/** The writer over a fresh ring of ROWS ticks, flushing checkpoints of BATCH ticks into `ticks`. */
async function writerAlone(url: string, asyncCommit: boolean) {
  const ticks = syntheticTicks(ROWS);
  const { ring } = ticks;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const { writer, stats } = writerOverTicks(sql, ticks, {
    log,
    tokenName: `bench:${asyncCommit ? 'async' : 'sync'}`,
    asyncCommit,
  });
  try {
    await sql`truncate ticks`;
    const start = ring.cursor(0);
    const t0 = performance.now();
    let id = 0;
    for (let done = 0; done < ROWS; ) {
      done = Math.min(ROWS, done + BATCH);
      writer.offer({ id: ++id, heads: [(start + done) >>> 0], positions: {}, tsIngestUs: Date.now() * 1000 });
      await writer.flush();
    }
    const seconds = (performance.now() - t0) / 1000;
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from ticks`;
    if (n?.n !== ROWS || stats[WRITER_STAT.ticksPersisted] !== ROWS)
      throw new Error(`writer: ${n?.n} of ${ROWS} rows stored`);
    return { ticksPerSec: ROWS / seconds, seconds, flushes: stats[WRITER_STAT.flushes] as number };
  } finally {
    await sql.end();
  }
}

/** The previous encoder (text) from the ring, timed with its encoding, into `table`. */
async function textCopy(url: string, numericColumns: boolean) {
  const { ring, names } = syntheticTicks(ROWS);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const table = numericColumns ? 'bench_ticks_numeric' : 'bench_ticks_text';
  try {
    await sql.unsafe(`DROP TABLE IF EXISTS ${table}`);
    await sql.unsafe(
      `CREATE TABLE ${table} (LIKE ticks INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`,
    );
    if (numericColumns) {
      await sql.unsafe(
        `ALTER TABLE ${table} ${['price', 'size', 'bid', 'ask', 'bid_size', 'ask_size']
          .map((c) => `ALTER COLUMN ${c} TYPE numeric(38,12)`)
          .join(', ')}`,
      );
    }
    const reader = new SymbolNamesReader(names.namesSab);
    const t0 = performance.now();
    let start = ring.cursor(0);
    // In batches like the writer's, one transaction each.
    for (let done = 0; done < ROWS; ) {
      const n = Math.min(BATCH, ROWS - done);
      const end = (start + n) >>> 0;
      const chunks = tickTextChunks([ring], reader, [start], [end], Date.now() * 1000);
      await sql.begin((tx) => copyIn(tx, `COPY ${table} (${TICK_COLUMNS}) FROM STDIN`, chunks));
      start = end;
      done += n;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { ticksPerSec: ROWS / seconds, seconds };
  } finally {
    await sql.unsafe(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await sql.end();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const machine = machineInfo();
  const started = Date.now();
  const db = await createMigratedTestDatabase('aegis_bench_persist');
  try {
    console.log(`persist bench: ${fmt(ROWS)} ticks per phase, batches of ${fmt(BATCH)}`);
    const ceiling = await measurePersistCeiling(db.url, ROWS);
    const ceilingNoIndex = await measurePersistCeiling(db.url, ROWS, { indexes: false });
    const writer = await writerAlone(db.url, false);
    const writerAsync = await writerAlone(db.url, true);
    const naive = await textCopy(db.url, true);
    const textFloat = await textCopy(db.url, false);

    const result = {
      rows: ROWS,
      batch: BATCH,
      ceiling: { ticksPerSec: Math.round(ceiling.ticksPerSec), bytesPerTick: ceiling.bytes / ROWS },
      ceilingWithoutIndex: { ticksPerSec: Math.round(ceilingNoIndex.ticksPerSec) },
      writerAlone: { ticksPerSec: Math.round(writer.ticksPerSec), flushes: writer.flushes },
      writerAloneAsyncCommit: { ticksPerSec: Math.round(writerAsync.ticksPerSec) },
      baseline: {
        shape: 'text COPY (previous encoder) into numeric(38,12) market-data columns',
        ticksPerSec: Math.round(naive.ticksPerSec),
      },
      textIntoFloat8: { ticksPerSec: Math.round(textFloat.ticksPerSec) },
      ratio: {
        writerOverBaseline: Number((writer.ticksPerSec / naive.ticksPerSec).toFixed(2)),
        writerOverCeiling: Number((writer.ticksPerSec / ceiling.ticksPerSec).toFixed(2)),
      },
      target: { writerWithEngineTicksPerSec: 350_000 },
      machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))) },
      date: new Date().toISOString(),
      wallSeconds: Math.round((Date.now() - started) / 1000),
    };
    const path = writeBenchResult('persist', result);
    const rows: [string, string][] = [
      [
        'ceiling: binary COPY of a prebuilt stream, float8, identity index',
        `${fmt(ceiling.ticksPerSec)} ticks/s`,
      ],
      ['ceiling without the identity index', `${fmt(ceilingNoIndex.ticksPerSec)} ticks/s`],
      ['writer alone (binary, exactly-once transaction)', `${fmt(writer.ticksPerSec)} ticks/s`],
      ['writer alone, synchronous_commit off', `${fmt(writerAsync.ticksPerSec)} ticks/s`],
      ['baseline: previous text encoder, numeric columns', `${fmt(naive.ticksPerSec)} ticks/s`],
      ['previous text encoder, float8 columns', `${fmt(textFloat.ticksPerSec)} ticks/s`],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v.padStart(16)}`);
    console.log(
      `writer / baseline ${result.ratio.writerOverBaseline}×, writer / ceiling ${result.ratio.writerOverCeiling}`,
    );
    console.log(`load average at start ${machine.loadavg1m}; results: ${path}`);
  } finally {
    await db.drop();
  }
}

await main();
