import { describe, expect, it } from 'vitest';
import { SymbolTable } from './symbol-table.ts';
import { SyntheticFeed, SyntheticMarket } from './synthetic.ts';
import { copyTick, createTickRecord, type TickRecord, validateTick } from './tick.ts';

function take(market: SyntheticMarket, n: number): TickRecord[] {
  const t = createTickRecord();
  const out: TickRecord[] = [];
  for (let i = 0; i < n; i++) {
    market.next(t);
    out.push(copyTick(t, createTickRecord()));
  }
  return out;
}

describe('synthetic market', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = take(new SyntheticMarket({ symbols: 50, seed: 7 }), 2000);
    const b = take(new SyntheticMarket({ symbols: 50, seed: 7 }), 2000);
    const c = take(new SyntheticMarket({ symbols: 50, seed: 8 }), 2000);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('emits only valid ticks: positive prices on the tick grid, bid < ask, trades at the touch', () => {
    const ticks = take(new SyntheticMarket({ symbols: 20, seed: 1 }), 50_000);
    let trades = 0;
    for (const t of ticks) {
      expect(validateTick(t)).toBeNull();
      expect(t.ask).toBeGreaterThan(t.bid);
      expect(Math.abs(t.bid * 100 - Math.round(t.bid * 100))).toBeLessThan(1e-6);
      if (t.kind === 1) {
        trades++;
        expect(t.price).toBe(t.aggressor === 1 ? t.ask : t.bid);
        expect(t.size).toBeGreaterThanOrEqual(1);
      }
    }
    expect(trades).toBeGreaterThan(10_000);
    // event time strictly increases
    for (let i = 1; i < ticks.length; i++) {
      expect((ticks[i] as TickRecord).tsEventUs).toBeGreaterThan((ticks[i - 1] as TickRecord).tsEventUs);
    }
  });

  it('has bursts of one-sided order flow with wider spreads', () => {
    const ticks = take(new SyntheticMarket({ symbols: 1, seed: 3 }), 100_000);
    // windows of 200 trades: some strongly imbalanced, most balanced
    const trades = ticks.filter((t) => t.kind === 1);
    let imbalanced = 0;
    let windows = 0;
    for (let i = 0; i + 200 <= trades.length; i += 200) {
      const ofi = trades.slice(i, i + 200).reduce((s, t) => s + t.aggressor, 0) / 200;
      windows++;
      if (Math.abs(ofi) > 0.4) imbalanced++;
    }
    expect(imbalanced).toBeGreaterThan(0);
    expect(imbalanced).toBeLessThan(windows / 2);
  });

  it('has per-symbol sequences starting at 1 without gaps', () => {
    const ticks = take(new SyntheticMarket({ symbols: 5, seed: 9 }), 5000);
    const last = new Map<number, number>();
    for (const t of ticks) {
      expect(t.seq).toBe((last.get(t.symbolId) ?? 0) + 1);
      last.set(t.symbolId, t.seq);
    }
  });
});

describe('synthetic feed', () => {
  it('resumes from its durable position with the exact same ticks', async () => {
    const run = async (resumeFrom: string | null, maxTicks: number) => {
      const table = new SymbolTable({ capacity: 100, shards: 2 });
      const got: TickRecord[] = [];
      const feed = new SyntheticFeed(
        {
          symbols: 10,
          seed: 42,
          symbolTable: table,
          ticksPerSec: 0,
          clock: 'simulated',
          resumeFrom,
          maxTicks,
        },
        createTickRecord(),
      );
      await feed.run({ publish: (t) => got.push(copyTick(t, createTickRecord())) > 0 });
      return { got, position: feed.position(), feed };
    };
    const whole = await run(null, 10_000);
    const first = await run(null, 6_000);
    expect(first.position).toBe('6000');
    const rest = await run(first.position, 4_000);
    expect([...first.got, ...rest.got]).toEqual(whole.got);
    expect(whole.feed.ticksIn).toBe(10_000);
  });

  it('resumes a long run without regenerating it: sequences continue above the position', async () => {
    const table = new SymbolTable({ capacity: 100, shards: 1 });
    const got: TickRecord[] = [];
    const feed = new SyntheticFeed(
      { symbols: 5, seed: 1, symbolTable: table, ticksPerSec: 0, resumeFrom: '50000000', maxTicks: 1000 },
      createTickRecord(),
    );
    await feed.run({ publish: (t) => got.push(copyTick(t, createTickRecord())) > 0 });
    expect(feed.position()).toBe('50001000');
    expect(Math.min(...got.map((t) => t.seq))).toBeGreaterThan(50_000_000);
  });

  it('counts ticks the sink drops', async () => {
    const table = new SymbolTable({ capacity: 10, shards: 1 });
    const feed = new SyntheticFeed(
      { symbols: 3, seed: 1, symbolTable: table, ticksPerSec: 0, maxTicks: 100 },
      createTickRecord(),
    );
    let i = 0;
    await feed.run({ publish: () => i++ % 2 === 0 });
    expect(feed.ticksIn).toBe(50);
    expect(feed.ticksDropped).toBe(50);
  });
});
