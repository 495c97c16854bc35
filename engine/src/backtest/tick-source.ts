import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import { createLogger, type Logger } from '@aegis/shared/logging';
import type { BacktestSpec } from '@aegis/shared/schemas/backtest';
import type { Sql } from 'postgres';
import { LabelledMarket } from '../eval/labelled-market.ts';
import { FEED_BATCH, yieldToEventLoop } from '../feeds/feed.ts';
import { MalformedRecords } from '../feeds/malformed.ts';
import { ReplayFeed } from '../feeds/replay.ts';
import { SymbolTable } from '../feeds/symbol-table.ts';
import { createTickRecord, type TickSink } from '../feeds/tick.ts';
import { readHeader, TICK_FILE_MAGIC } from '../feeds/tick-file.ts';
import { TICK } from '../ring/layout.ts';
import { ticksTableSource } from './ticks-table-source.ts';

/**
 * Where a backtest's ticks come from. Every source hands ticks to a TickSink exactly as the
 * engine's feeds hand them to the rings (one reused TickRecord, `publish` per tick, `flush` and
 * `backpressure` at batch boundaries), so the runner is one sink for all of them:
 *
 * - a file: the engine's own ReplayFeed at full speed (speed 0), binary `.ticks` or CSV — the same
 *   decoder and validation as a live replay, no second parser;
 * - a time range of the `ticks` table (ticks-table-source.ts, a server-side cursor);
 * - the labelled market simulation (engine/src/eval/labelled-market.ts), seeded by the spec.
 *
 * `symbolOf(id)` names the symbol of a TickRecord's `symbolId` (the source's own ids).
 */
export interface TickSource {
  /** Ticks the source will hand out when known up front (progress fraction and ETA); else null. */
  readonly totalTicks: number | null;
  symbolOf(id: number): string;
  run(sink: TickSink): Promise<void>;
  /** Ends `run` early (cancel): it resolves after the current tick. */
  stop(): void;
  /** Records the source refused as malformed (files only; 0 elsewhere). */
  readonly malformed: number;
}

/** Symbols a backtest may see in one file or range (the symbol table is sized once). */
const SYMBOL_CAPACITY = 1 << 16;

/** A `.ticks` or CSV file replayed through the engine's ReplayFeed at full speed. */
export function fileTickSource(path: string, log: Logger = silentLog()): TickSource {
  const symbols = new SymbolTable({ capacity: SYMBOL_CAPACITY, shards: 1 });
  const malformed = new MalformedRecords(log);
  const feed = new ReplayFeed({ path, speed: 0, symbolTable: symbols, malformed }, createTickRecord());
  return {
    totalTicks: binaryRecordCount(path),
    symbolOf: (id) => symbols.symbolOf(id),
    run: (sink) => feed.run(sink),
    stop: () => feed.stop(),
    get malformed() {
      let n = 0;
      for (const [, , count] of malformed.entries()) n += count;
      return n;
    },
  };
}

const silentLog = (): Logger => createLogger({ name: 'backtest', level: 'silent' });

/** Records in a binary tick file (from its size: the header's count is patched only at close). */
function binaryRecordCount(path: string): number | null {
  const fd = openSync(path, 'r');
  try {
    const magic = new Uint8Array(4);
    if (readSync(fd, magic, 0, 4, 0) !== 4) return null;
    if (new DataView(magic.buffer).getUint32(0, true) !== TICK_FILE_MAGIC) return null;
    const header = readHeader(fd);
    return Math.floor((fstatSync(fd).size - header.dataOffset) / TICK.bytes);
  } finally {
    closeSync(fd);
  }
}

/**
 * The labelled market simulation: `ticks` ticks over `symbols` symbols from the spec's seed.
 * Market symbol i is named `names[i]` when given (the spec's instruments, in order), else `SIM<i>`.
 */
export function simulationTickSource(
  options: { readonly symbols: number; readonly ticks: number; readonly seed: number },
  names: readonly string[] = [],
): TickSource {
  const market = new LabelledMarket({ symbols: options.symbols, seed: options.seed });
  let stopped = false;
  return {
    totalTicks: options.ticks,
    symbolOf: (id) => names[id] ?? `SIM${id}`,
    malformed: 0,
    stop: () => {
      stopped = true;
    },
    async run(sink) {
      const t = createTickRecord();
      let sinceYield = 0;
      for (let k = 0; k < options.ticks && !stopped; k++) {
        market.next(t);
        t.seq = k;
        sink.publish(t);
        if (++sinceYield >= FEED_BATCH) {
          sinceYield = 0;
          sink.flush?.();
          await (sink.backpressure?.() ?? yieldToEventLoop());
        }
      }
      sink.flush?.();
    },
  };
}

export interface TickSourceDeps {
  /** Path of an uploaded tick file (the server's upload store resolves the id). */
  readonly uploadPath?: (uploadId: string) => string;
  /** The database, for a range of the `ticks` table. */
  readonly sql?: Sql;
  /** Where malformed records of a file are reported (one line per interval, feeds/malformed.ts). */
  readonly log?: Logger;
}

/** The source a spec asks for. */
export async function tickSourceFor(spec: BacktestSpec, deps: TickSourceDeps): Promise<TickSource> {
  const data = spec.data;
  switch (data.kind) {
    case 'simulation':
      return simulationTickSource(
        { symbols: data.symbols, ticks: data.ticks, seed: spec.seed },
        spec.instruments,
      );
    case 'upload':
      if (!deps.uploadPath)
        throw new AppError(ErrorCode.BAD_INPUT, 'data.uploadId: no upload store configured');
      return fileTickSource(deps.uploadPath(data.uploadId), deps.log);
    case 'ticks_table':
      if (!deps.sql) throw new AppError(ErrorCode.BAD_INPUT, 'data: no database for a ticks_table range');
      return ticksTableSource(deps.sql, {
        from: new Date(data.from),
        to: new Date(data.to),
        symbols: spec.instruments,
      });
  }
}
