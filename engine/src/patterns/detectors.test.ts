import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeatureStepper } from '../features/feature-stepper.ts';
import {
  alphaOfSpan,
  coefficients,
  DEFAULT_FEATURE_PARAMS,
  type PatternParams,
  patternParamsSchema,
} from '../features/params.ts';
import { FeatureState } from '../features/state.ts';
import { PATTERN, TICK_KIND } from '../ring/layout.ts';
import { detectionDirection, detectionPattern } from './detectors.ts';

/** Crafted tick sequences, one symbol, 1 ms apart. */
interface Tick {
  kind: number;
  aggressor: number;
  price: number;
  size: number;
  bid: number;
  ask: number;
}
const T0 = 1_764_000_000_000_000;
const MS = 1000;

const trade = (aggressor: number, price: number, size: number, mid = 100): Tick => ({
  kind: TICK_KIND.trade,
  aggressor,
  price,
  size,
  bid: mid - 0.01,
  ask: mid + 0.01,
});
const quote = (mid: number): Tick => ({
  kind: TICK_KIND.quote,
  aggressor: 0,
  price: 0,
  size: 0,
  bid: mid - 0.01,
  ask: mid + 0.01,
});

/** 200 quiet ticks: mid 100 wobbling by ±0.01, trades alternately bought and sold, size 1. */
function quiet(n = 200): Tick[] {
  const out: Tick[] = [];
  for (let i = 0; i < n; i++) {
    const mid = 100 + (i % 4 === 0 ? 0.01 : i % 4 === 2 ? -0.01 : 0);
    out.push(
      i % 2 === 0 ? quote(mid) : trade(i % 4 === 1 ? 1 : -1, i % 4 === 1 ? mid + 0.01 : mid - 0.01, 1, mid),
    );
  }
  return out;
}

interface Hit {
  i: number;
  pattern: number;
  direction: number;
}

function run(ticks: Tick[], params: Partial<PatternParams> = {}, stepUs = MS): Hit[] {
  const k = coefficients(DEFAULT_FEATURE_PARAMS, patternParamsSchema.parse(params));
  const stepper = new FeatureStepper(FeatureState.create(1), k);
  const hits: Hit[] = [];
  ticks.forEach((t, i) => {
    const d = stepper.apply(0, T0 + i * stepUs, t.kind, t.aggressor, t.price, t.size, t.bid, t.ask, 5, 5);
    if (d !== 0) hits.push({ i, pattern: detectionPattern(d), direction: detectionDirection(d) });
  });
  return hits;
}

describe('pattern detectors', () => {
  it('quiet markets emit nothing', () => {
    expect(run(quiet(2000))).toEqual([]);
  });

  it('breakout: price above the band with buying flow → one long, then the cooldown holds', () => {
    const base = quiet();
    const up: Tick[] = [];
    for (let j = 1; j <= 30; j++) up.push(trade(1, 100.02 + j * 0.01, 10, 100.01 + j * 0.01));
    // (The move is also extreme against the EMA: mean-reversion candidates have their own cooldown.)
    const hits = run([...base, ...up]).filter((h) => h.pattern === PATTERN.breakout);
    expect(hits).toEqual([{ i: base.length, pattern: PATTERN.breakout, direction: 1 }]);
  });

  it('breakout again after the cooldown; short on the way down with selling flow', () => {
    const base = quiet();
    const down: Tick[] = [];
    for (let j = 1; j <= 30; j++) down.push(trade(-1, 99.98 - j * 0.01, 10, 99.99 - j * 0.01));
    const hits = run([...base, ...down], { cooldownUs: 10 * MS }).filter(
      (h) => h.pattern === PATTERN.breakout,
    );
    expect(hits.length).toBe(3); // ticks 0, 10, 20 of the move (1 ms apart, 10 ms cooldown)
    expect(hits.every((h) => h.direction === -1)).toBe(true);
    expect(hits.map((h) => h.i - base.length)).toEqual([0, 10, 20]);
  });

  it('no breakout when the flow does not confirm the move', () => {
    const base = quiet();
    const up: Tick[] = [];
    // The price leaves the band but the aggressors are sellers.
    for (let j = 1; j <= 5; j++) up.push(trade(-1, 100.05 + j * 0.01, 10, 100.06 + j * 0.01));
    expect(run([...base, ...up]).filter((h) => h.pattern === PATTERN.breakout)).toEqual([]);
  });

  it('mean reversion: a quote far above the EMA → short (quotes leave OFI alone, so no breakout)', () => {
    const base = quiet();
    const hits = run([...base, quote(100.5)]);
    expect(hits).toEqual([{ i: base.length, pattern: PATTERN.mean_reversion, direction: -1 }]);
  });

  it('mean reversion far below → long', () => {
    const base = quiet();
    expect(run([...base, quote(99.5)])).toEqual([
      { i: base.length, pattern: PATTERN.mean_reversion, direction: 1 },
    ]);
  });

  it('absorption: heavy aggressive selling that does not move the price → long, once per cooldown', () => {
    const base = quiet();
    const sells: Tick[] = [];
    for (let j = 0; j < 300; j++) sells.push(trade(-1, 99.99, 10));
    const hits = run([...base, ...sells]);
    expect(hits.length).toBe(1);
    expect(hits[0]).toMatchObject({ pattern: PATTERN.absorption, direction: 1 });
    expect(hits[0]!.i).toBeGreaterThan(base.length);
    expect(hits[0]!.i).toBeLessThan(base.length + 10);
  });

  it('absorption short: heavy buying held at the offer', () => {
    const base = quiet();
    const buys: Tick[] = [];
    for (let j = 0; j < 20; j++) buys.push(trade(1, 100.01, 10));
    const hits = run([...base, ...buys]);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ pattern: PATTERN.absorption, direction: -1 });
  });

  it('nothing during warm-up, whatever the ticks', () => {
    const wild: Tick[] = [];
    for (let j = 0; j < 64; j++) wild.push(trade(1, 100 + j, 100, 100 + j));
    expect(run(wild)).toEqual([]);
  });

  it('deterministic: the same ticks give the same candidates', () => {
    const seq = [
      ...quiet(),
      quote(100.5),
      ...quiet(),
      ...Array.from({ length: 40 }, () => trade(-1, 99.99, 10)),
    ];
    expect(run(seq)).toEqual(run(seq));
    expect(run(seq).length).toBeGreaterThan(1);
  });

  it('breakout fires exactly when a brute-force check of the definition says so (random walks)', () => {
    const W = DEFAULT_FEATURE_PARAMS.bandWindow;
    const a = alphaOfSpan(DEFAULT_FEATURE_PARAMS.ofiSpan);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            up: fc.integer({ min: -3, max: 3 }),
            trade: fc.boolean(),
            buy: fc.boolean(),
            size: fc.integer({ min: 1, max: 9 }),
          }),
          {
            minLength: 80,
            maxLength: 300,
          },
        ),
        (steps) => {
          // cooldown 0 and a low warm-up, so the only gates are the definition's.
          const params = { cooldownUs: 0, warmupTicks: 40, breakoutMinOfi: 0.2 };
          const ticks: Tick[] = [];
          let mid = 100;
          for (const st of steps) {
            mid += st.up * 0.01;
            ticks.push(
              st.trade ? trade(st.buy ? 1 : -1, st.buy ? mid + 0.01 : mid - 0.01, st.size, mid) : quote(mid),
            );
          }
          const got = run(ticks, params).filter((h) => h.pattern === PATTERN.breakout);
          const want: Hit[] = [];
          const prices: number[] = [];
          let os = 0;
          let ov = 0;
          ticks.forEach((t, i) => {
            // The band is kept over log prices (state.ts): compare in the same space, where two
            // prices one ulp apart can share a log.
            const p = Math.log(t.kind === TICK_KIND.trade ? t.price : (t.bid + t.ask) / 2);
            if (t.kind === TICK_KIND.trade) {
              os = (1 - a) * os + a * t.aggressor * t.size;
              ov = (1 - a) * ov + a * t.size;
            }
            const prev = prices.slice(-W);
            prices.push(p);
            if (i + 1 <= params.warmupTicks || prev.length < W) return;
            const ofi = ov > 0 ? os / ov : 0;
            if (ofi >= 0.2 && p > Math.max(...prev))
              want.push({ i, pattern: PATTERN.breakout, direction: 1 });
            else if (ofi <= -0.2 && p < Math.min(...prev))
              want.push({ i, pattern: PATTERN.breakout, direction: -1 });
          });
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });
});
