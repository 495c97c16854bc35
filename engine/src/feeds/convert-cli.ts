/**
 * Converts recorded ticks between CSV (tick-csv.ts) and the engine's binary format
 * (tick-file.ts). The input format is detected from the file's magic; the output is the other
 * one. Malformed input records are counted and skipped (summary at the end).
 *
 *   node engine/src/feeds/convert-cli.ts ticks.csv ticks.ticks
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { createLogger } from '@aegis/shared/logging';
import { MalformedRecords } from './malformed.ts';
import { ReplayFeed } from './replay.ts';
import { SymbolTable } from './symbol-table.ts';
import { createTickRecord, type TickRecord } from './tick.ts';
import { CSV_HEADER, formatCsvLine } from './tick-csv.ts';
import { TICK_FILE_MAGIC, TickFileWriter } from './tick-file.ts';

export interface ConvertResult {
  readonly direction: 'csv->bin' | 'bin->csv';
  readonly records: number;
  readonly malformed: number;
  readonly symbols: number;
}

const MAX_SYMBOLS = 1_000_000;

export async function convertTicks(input: string, output: string, logLevel = 'warn'): Promise<ConvertResult> {
  const log = createLogger({ name: 'tick-convert', level: logLevel });
  const fd = openSync(input, 'r');
  const magic = new Uint8Array(4);
  const n = readSync(fd, magic, 0, 4, 0);
  closeSync(fd);
  const isBinary = n === 4 && new DataView(magic.buffer).getUint32(0, true) === TICK_FILE_MAGIC;
  const table = new SymbolTable({ capacity: MAX_SYMBOLS, shards: 1 });
  const malformed = new MalformedRecords(log);
  const scratch = createTickRecord();

  if (!isBinary) {
    // Pass 1 fixes the symbol dictionary (the binary header precedes the records), pass 2 writes.
    await new ReplayFeed(
      { path: input, speed: 0, symbolTable: table, malformed: new MalformedRecords(log) },
      scratch,
    ).run({
      publish: () => true,
    });
    const writer = new TickFileWriter(output, table.names());
    await new ReplayFeed({ path: input, speed: 0, symbolTable: table, malformed }, scratch).run({
      publish: (t: TickRecord) => {
        writer.write(t);
        return true;
      },
    });
    const records = writer.close();
    return { direction: 'csv->bin', records, malformed: countAll(malformed), symbols: table.size };
  }

  const out = openSync(output, 'w');
  let lines: string[] = [CSV_HEADER];
  let records = 0;
  const flush = () => {
    if (lines.length === 0) return;
    writeSync(out, `${lines.join('\n')}\n`);
    lines = [];
  };
  try {
    await new ReplayFeed({ path: input, speed: 0, symbolTable: table, malformed }, scratch).run({
      publish: (t: TickRecord) => {
        lines.push(formatCsvLine(t, table.symbolOf(t.symbolId)));
        records++;
        if (lines.length >= 10_000) flush();
        return true;
      },
    });
    flush();
  } finally {
    closeSync(out);
  }
  return { direction: 'bin->csv', records, malformed: countAll(malformed), symbols: table.size };
}

function countAll(m: MalformedRecords): number {
  let n = 0;
  for (const [, , c] of m.entries()) n += c;
  return n;
}

if (import.meta.main) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: convert-cli.ts <input .csv|.ticks> <output>');
    process.exit(2);
  }
  const r = await convertTicks(input, output);
  console.log(`${r.direction}: ${r.records} records, ${r.symbols} symbols, ${r.malformed} malformed skipped`);
}
