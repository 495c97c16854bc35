import type { BookRegistry } from '../../src/book/book-registry.ts';
import type { BookSide } from '../../src/book/book-sink.ts';
import { copyTick, createTickRecord, type TickRecord, type TickSink } from '../../src/feeds/tick.ts';

/**
 * What a venue decoder or feed wrote, for its tests: a tick sink that keeps a copy of every tick
 * (never full, never pressured), and the book of one instrument read back as [price, size] pairs.
 */
export class CollectingSink implements TickSink {
  readonly ticks: TickRecord[] = [];
  publish(t: TickRecord): boolean {
    this.ticks.push(copyTick(t, createTickRecord()));
    return true;
  }
  /** Trade ticks, of one instrument or all. */
  trades(symbolId?: number): TickRecord[] {
    return this.ticks.filter((t) => t.kind === 1 && (symbolId === undefined || t.symbolId === symbolId));
  }
  /** Quote ticks, of one instrument or all. */
  quotes(symbolId?: number): TickRecord[] {
    return this.ticks.filter((t) => t.kind === 2 && (symbolId === undefined || t.symbolId === symbolId));
  }
}

/** A side of the book as [price, size] pairs, best first (at most 1000 levels). */
export function sideOf(books: BookRegistry, id: number, side: BookSide): [number, number][] {
  const out = new Float64Array(2 * 1000);
  const n = books.levels(id, side, 1000, out);
  return Array.from({ length: n }, (_, i) => [out[2 * i] as number, out[2 * i + 1] as number]);
}
