import { appendFileSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@aegis/shared/logging';
import { describe, expect, it } from 'vitest';
import { convertTicks } from './convert-cli.ts';
import { MalformedRecords } from './malformed.ts';
import { ReplayFeed } from './replay.ts';
import { SymbolTable } from './symbol-table.ts';
import { SyntheticMarket, syntheticSymbolName } from './synthetic.ts';
import { copyTick, createTickRecord, type TickRecord } from './tick.ts';
import { CSV_HEADER, formatCsvLine, parseCsvLine } from './tick-csv.ts';
import { TickFileWriter } from './tick-file.ts';

const log = createLogger({ name: 'replay-test', level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'aegis-replay-'));

function ticks(n: number, symbols = 4, seed = 5): TickRecord[] {
  const m = new SyntheticMarket({ symbols, seed });
  const t = createTickRecord();
  return Array.from({ length: n }, () => {
    m.next(t);
    return copyTick(t, createTickRecord());
  });
}
const names = (n: number) => Array.from({ length: n }, (_, i) => syntheticSymbolName(i));

function writeCsv(path: string, list: TickRecord[], symbols: string[]): void {
  writeFileSync(
    path,
    `${[CSV_HEADER, ...list.map((t) => formatCsvLine(t, symbols[t.symbolId] as string))].join('\n')}\n`,
  );
}
function writeBin(path: string, list: TickRecord[], symbols: string[]): void {
  const w = new TickFileWriter(path, symbols);
  for (const t of list) w.write(t);
  w.close();
}

async function replay(path: string, resumeFrom: string | null = null, capacity = 100) {
  const table = new SymbolTable({ capacity, shards: 1 });
  const malformed = new MalformedRecords(log);
  const feed = new ReplayFeed(
    { path, speed: 0, symbolTable: table, malformed, resumeFrom },
    createTickRecord(),
  );
  const got: TickRecord[] = [];
  await feed.run({ publish: (t) => got.push(copyTick(t, createTickRecord())) > 0 });
  // back to names so files with different dictionaries compare
  return {
    got,
    named: got.map((t) => ({ ...t, symbolId: table.symbolOf(t.symbolId) })),
    malformed,
    feed,
    table,
  };
}

describe('CSV codec', () => {
  it('round-trips every field exactly, timestamps to the microsecond', () => {
    const table = new SymbolTable({ capacity: 10, shards: 1 });
    for (const t of ticks(500)) {
      const line = formatCsvLine(t, `S${t.symbolId}`);
      const back = createTickRecord();
      expect(parseCsvLine(line, (s) => table.intern(s), back)).toBeNull();
      expect({ ...back, symbolId: 0 }).toEqual({ ...t, symbolId: 0 });
      expect(table.symbolOf(back.symbolId)).toBe(`S${t.symbolId}`);
    }
  });

  it.each([
    ['shape', '2026-01-01T00:00:00Z,AAA,1,trade,buy,10,1,9,10,1'],
    ['timestamp', 'yesterday,AAA,1,trade,buy,10,1,9.99,10,1,1'],
    ['timestamp', '1970-01-01T00:00:00Z,AAA,1,trade,buy,10,1,9.99,10,1,1'],
    ['symbol', '2026-01-01T00:00:00Z,A A,1,trade,buy,10,1,9.99,10,1,1'],
    ['kind', '2026-01-01T00:00:00Z,AAA,1,auction,buy,10,1,9.99,10,1,1'],
    ['aggressor', '2026-01-01T00:00:00Z,AAA,1,trade,up,10,1,9.99,10,1,1'],
    ['number', '2026-01-01T00:00:00Z,AAA,1,trade,buy,ten,1,9.99,10,1,1'],
    ['number', '2026-01-01T00:00:00Z,AAA,1,trade,buy,0x10,1,9.99,10,1,1'],
    ['price', '2026-01-01T00:00:00Z,AAA,1,trade,buy,-3,1,9.99,10,1,1'],
    ['size', '2026-01-01T00:00:00Z,AAA,1,trade,buy,10,-1,9.99,10,1,1'],
    ['quote', '2026-01-01T00:00:00Z,AAA,1,quote,,10,0,10.01,10,1,1'],
    ['quote', '2026-01-01T00:00:00Z,AAA,1,quote,,10,0,,10,1,1'],
  ])('rejects a malformed line as %s', (kind, line) => {
    const table = new SymbolTable({ capacity: 10, shards: 1 });
    expect(parseCsvLine(line, (s) => table.intern(s), createTickRecord())).toBe(kind);
  });
});

describe('replay', () => {
  const list = ticks(10_000);
  const symbols = names(4);
  const csv = join(dir, 'a.csv');
  const bin = join(dir, 'a.ticks');
  writeCsv(csv, list, symbols);
  writeBin(bin, list, symbols);
  const listNamed = list.map((t) => ({ ...t, symbolId: symbols[t.symbolId] }));

  it('replays CSV and binary files to the same ticks as recorded', async () => {
    const a = await replay(csv);
    const b = await replay(bin);
    expect(a.named).toEqual(listNamed);
    expect(b.named).toEqual(listNamed);
    expect(a.feed.position()).toBe(`csv:${readFileSync(csv).length}`);
    expect(b.feed.position()).toBe('bin:10000');
  });

  it('resumes from a position mid-file without loss or duplicates (both formats)', async () => {
    for (const path of [csv, bin]) {
      const table = new SymbolTable({ capacity: 100, shards: 1 });
      const feed = new ReplayFeed(
        { path, speed: 0, symbolTable: table, malformed: new MalformedRecords(log) },
        createTickRecord(),
      );
      const first: unknown[] = [];
      await feed.run({
        publish: (t) => {
          first.push({ ...t, symbolId: table.symbolOf(t.symbolId) });
          if (first.length === 3333) feed.stop();
          return true;
        },
      });
      const rest = await replay(path, feed.position());
      expect([...first, ...rest.named]).toEqual(listNamed);
    }
  });

  it('converts CSV -> binary -> CSV losslessly', async () => {
    const b2 = join(dir, 'b.ticks');
    const c2 = join(dir, 'b.csv');
    expect(await convertTicks(csv, b2)).toMatchObject({
      direction: 'csv->bin',
      records: 10_000,
      malformed: 0,
      symbols: 4,
    });
    expect(await convertTicks(b2, c2)).toMatchObject({ direction: 'bin->csv', records: 10_000 });
    expect(readFileSync(c2, 'utf8')).toBe(readFileSync(csv, 'utf8'));
  });

  it('paces at N× speed from event-time gaps', async () => {
    const paced = join(dir, 'paced.csv');
    const few = ticks(3).map((t, i) => ({ ...t, tsEventUs: 1_767_225_600_000_000 + i * 100_000 }));
    writeCsv(paced, few, symbols);
    const table = new SymbolTable({ capacity: 10, shards: 1 });
    const feed = new ReplayFeed(
      { path: paced, speed: 2, symbolTable: table, malformed: new MalformedRecords(log) },
      createTickRecord(),
    );
    const t0 = performance.now();
    await feed.run({ publish: () => true });
    // 200 ms of event time at 2× — a lower bound only (no upper timing bound in unit tests)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
    expect(feed.ticksIn).toBe(3);
  });

  it('counts and skips malformed CSV lines of each kind, naming the byte offset', async () => {
    const path = join(dir, 'bad.csv');
    const good = ticks(5);
    const lines = [CSV_HEADER, formatCsvLine(good[0] as TickRecord, 'AAA')];
    const bad = [
      'garbage',
      'x,AAA,1,trade,buy,10,1,9.99,10,1,1',
      '2026-01-01T00:00:00Z,AAA,1,trade,buy,nan,1,9.99,10,1,1',
      '2026-01-01T00:00:00Z,AAA,1,trade,buy,10,1,10.5,10,1,1',
    ];
    lines.push(
      ...bad,
      formatCsvLine(good[1] as TickRecord, 'AAA'),
      '',
      formatCsvLine(good[2] as TickRecord, 'AAA'),
    );
    writeFileSync(path, lines.join('\r\n'));
    const seen: unknown[] = [];
    const spy = createLogger(
      { name: 't', level: 'warn' },
      { write: (s: string) => seen.push(JSON.parse(s)) },
    );
    const malformed = new MalformedRecords(spy);
    const table = new SymbolTable({ capacity: 10, shards: 1 });
    const feed = new ReplayFeed({ path, speed: 0, symbolTable: table, malformed }, createTickRecord());
    await feed.run({ publish: () => true });
    expect(feed.ticksIn).toBe(3);
    const source = `replay:${path}`;
    expect(malformed.count(source)).toBe(4);
    expect(malformed.count(source, 'shape')).toBe(1);
    expect(malformed.count(source, 'timestamp')).toBe(1);
    expect(malformed.count(source, 'number')).toBe(1);
    expect(malformed.count(source, 'quote')).toBe(1);
    // ONE log line (rate-limited), naming the source and the offset of the first bad line
    expect(seen).toHaveLength(1);
    const offset = Buffer.byteLength(`${lines[0]}\r\n${lines[1]}\r\n`);
    expect(seen[0]).toMatchObject({
      source,
      kind: 'shape',
      offset: expect.stringContaining(`byte ${offset}`),
    });
  });

  it('counts binary records with bad fields or symbols and a truncated tail', async () => {
    const path = join(dir, 'bad.ticks');
    const good = ticks(10, 2);
    const w = new TickFileWriter(path, names(2));
    for (const [i, t] of good.entries()) {
      if (i === 3) w.write({ ...t, price: Number.NaN });
      else if (i === 4) w.write({ ...t, kind: 9 });
      else if (i === 5) w.write({ ...t, tsEventUs: 0 });
      else w.write(t);
    }
    w.close();
    appendFileSync(path, Buffer.alloc(40)); // a record cut short
    const r = await replay(path);
    expect(r.got).toHaveLength(7);
    const source = `replay:${path}`;
    expect(r.malformed.count(source, 'price')).toBe(1);
    expect(r.malformed.count(source, 'kind')).toBe(1);
    expect(r.malformed.count(source, 'timestamp')).toBe(1);
    expect(r.malformed.count(source, 'truncated')).toBe(1);

    // a symbol index outside the dictionary
    const p2 = join(dir, 'badsym.ticks');
    const w2 = new TickFileWriter(p2, names(3));
    w2.write(good[0] as TickRecord);
    w2.write({ ...(good[1] as TickRecord), symbolId: 2 });
    w2.close();
    const r2 = await replay(p2, null, 1); // capacity 1: the second symbol cannot be interned
    expect(r2.got).toHaveLength(1);
    expect(r2.malformed.count(`replay:${p2}`, 'symbol')).toBe(1);
  });

  it('rejects a file whose header is not a tick file header', async () => {
    const path = join(dir, 'short.ticks');
    writeBin(path, ticks(2), names(4));
    truncateSync(path, 20);
    await expect(replay(path)).rejects.toThrow(/header/);
  });
});

describe('venue formats and reruns (data fidelity)', () => {
  const idOf = () => 0;
  it('takes nanosecond timestamps (ISO with 9 digits and integer ns) and truncates them to µs', () => {
    const t = createTickRecord();
    expect(parseCsvLine('2026-01-02T03:04:05.123456789Z,X,1,trade,buy,10,1,,,,', idOf, t)).toBeNull();
    expect(t.tsEventUs).toBe(Date.parse('2026-01-02T03:04:05Z') * 1000 + 123456);
    // 1767322800123456789 ns: beyond 2^53, so a double would already have rounded it.
    expect(parseCsvLine('1767322800123456789,X,1,trade,buy,10,1,,,,', idOf, t)).toBeNull();
    expect(t.tsEventUs).toBe(1767322800123456);
    // µs integers stay µs.
    expect(parseCsvLine('1767322800123456,X,1,trade,buy,10,1,,,,', idOf, t)).toBeNull();
    expect(t.tsEventUs).toBe(1767322800123456);
    expect(parseCsvLine('2026-01-02T03:04:05.1234567891Z,X,1,trade,buy,10,1,,,,', idOf, t)).toBe('timestamp');
  });

  it('takes B/S aggressor codes and T/Q kinds in any case', () => {
    const t = createTickRecord();
    expect(parseCsvLine('1767322800000000,X,1,T,B,10,1,,,,', idOf, t)).toBeNull();
    expect([t.kind, t.aggressor]).toEqual([1, 1]);
    expect(parseCsvLine('1767322800000000,X,2,t,s,10,1,,,,', idOf, t)).toBeNull();
    expect([t.kind, t.aggressor]).toEqual([1, -1]);
    expect(parseCsvLine('1767322800000000,X,3,Q,,10,0,9.9,10.1,5,5', idOf, t)).toBeNull();
    expect(t.kind).toBe(2);
    expect(parseCsvLine('1767322800000000,X,4,trade,X,10,1,,,,', idOf, t)).toBe('aggressor');
  });

  it('knows when a saved position is the end of the file (a rerun would replay nothing)', async () => {
    const list = ticks(50);
    for (const [kind, write] of [
      ['csv', writeCsv],
      ['bin', writeBin],
    ] as const) {
      const path = join(dir, `rerun.${kind}`);
      write(path, list, names(4));
      const first = await replay(path);
      expect(first.got).toHaveLength(50);
      const end = first.feed.position();
      const again = new ReplayFeed(
        {
          path,
          speed: 0,
          symbolTable: new SymbolTable({ capacity: 10, shards: 1 }),
          malformed: new MalformedRecords(log),
          resumeFrom: end,
        },
        createTickRecord(),
      );
      expect(again.resumesAtEnd()).toBe(true);
      expect((await replay(path, end)).got).toHaveLength(0);
      const fresh = new ReplayFeed(
        {
          path,
          speed: 0,
          symbolTable: new SymbolTable({ capacity: 10, shards: 1 }),
          malformed: new MalformedRecords(log),
          resumeFrom: null,
        },
        createTickRecord(),
      );
      expect(fresh.resumesAtEnd()).toBe(false);
    }
  });
});
