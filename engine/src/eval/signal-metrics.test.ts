import { describe, expect, it } from 'vitest';
import { COOLDOWN_TICKS, momentumSeries, type RuleSeries, randomSignals, ruleSignals } from './baselines.ts';
import type { LabelledEvent } from './labelled-market.ts';
import type { MarketRun } from './market-run.ts';
import { calibrationBins, indexEvents, qualityRow, type Signal } from './signal-metrics.ts';
import { checkTarget } from './target.ts';

/** A hand-made run: one symbol with the given mids, ticks 1 µs apart. */
function run(mids: number[], events: Partial<LabelledEvent>[] = []): MarketRun {
  return {
    seed: 1,
    symbols: 1,
    ticks: mids.length,
    mids: [Float64Array.from(mids)],
    tsUs: [Float64Array.from(mids, (_, i) => i)],
    events: events.map((e, id) => ({
      id,
      symbol: 0,
      kind: 'ofi_drift',
      direction: 1,
      startTick: 0,
      endTick: 0,
      phaseEndTick: 0,
      magnitudeBp: 0,
      tsStartUs: 0,
      tsEndUs: 0,
      ...e,
    })),
    candidates: [],
  };
}

const sig = (tick: number, direction: number, score = 0.5): Signal => ({
  run: 0,
  symbol: 0,
  tick,
  tsUs: tick,
  pattern: 'p',
  direction,
  score,
});

describe('signal metrics', () => {
  // mids: 100 for ticks 0-4, 101 for ticks 5-9.
  const r = run(
    [100, 100, 100, 100, 100, 101, 101, 101, 101, 101],
    [
      { startTick: 2, endTick: 4, direction: 1 },
      { startTick: 6, endTick: 7, direction: -1 },
      { startTick: 8, endTick: 9, direction: 0, kind: 'liquidity_withdrawal' },
    ],
  );
  const events = indexEvents([r]);

  it('counts location, direction and recall against the tradable windows only', () => {
    expect(events.tradable).toBe(2);
    // tick 3 inside event 0 in its direction; tick 6 inside event 1 against it; tick 8 in a
    // non-directional window (not a tradable event); tick 0 outside.
    const row = qualityRow([r], events, [sig(3, 1), sig(6, 1), sig(8, 1), sig(0, -1)], {
      source: 'engine',
      pattern: 'all',
      horizons: [2, 8],
      auc: true,
      calibration: true,
    });
    expect(row.signals).toBe(4);
    expect(row.precisionLocation).toBe(0.5);
    expect(row.precisionDirection).toBe(0.25);
    expect(row.recall).toBe(1);
    // Horizon 2: tick 3 → 5 = +ln(1.01); tick 6 → 8 = 0; tick 8 → 10 past the end; tick 0 → 2 = 0.
    const up = Math.log(1.01) * 1e4;
    expect(row.forwardReturnBp['2']).toBeCloseTo(up / 3, 5);
    // Horizon 8: only tick 0 → 8, short: −ln(1.01).
    expect(row.forwardReturnBp['8']).toBeCloseTo(-up, 5);
    expect(row.hitRate).toBeCloseTo(1 / 3, 6);
  });

  it('measures the AUC of the score against a positive forward return', () => {
    // Up move at tick 5: longs before it win. Scores: winners 0.9 and 0.4, losers 0.6 and 0.1.
    const signals = [sig(3, 1, 0.9), sig(4, -1, 0.6), sig(2, 1, 0.4), sig(1, -1, 0.1)];
    const row = qualityRow([r], events, signals, {
      source: 'engine',
      pattern: 'all',
      horizons: [3],
      auc: true,
      calibration: false,
    });
    // Pairs (winner, loser): (0.9,0.6) (0.9,0.1) (0.4,0.1) right, (0.4,0.6) wrong → 3/4.
    expect(row.auc).toBe(0.75);
    expect(row.calibration).toEqual([]);
    const none = qualityRow([r], events, [], {
      source: 'random',
      pattern: 'all',
      horizons: [3],
      auc: true,
      calibration: false,
    });
    expect(none.precisionDirection).toBeNull();
    expect(none.hitRate).toBeNull();
    expect(none.auc).toBeNull();
    expect(none.recall).toBe(0);
  });

  it('bins scores into calibration bins with their mean score and hit rate', () => {
    const bins = calibrationBins([0.05, 0.72, 0.78, 0.75, 1], [0, 1, 1, 0, 1]);
    expect(bins).toHaveLength(10);
    expect(bins[0]).toEqual({ from: 0, to: 0.1, n: 1, meanScore: 0.05, hitRate: 0 });
    expect(bins[7]).toEqual({ from: 0.7, to: 0.8, n: 3, meanScore: 0.75, hitRate: 0.666667 });
    expect(bins[9]).toEqual({ from: 0.9, to: 1, n: 1, meanScore: 1, hitRate: 1 });
    expect(bins[4]).toEqual({ from: 0.4, to: 0.5, n: 0, meanScore: null, hitRate: null });
  });
});

describe('baselines', () => {
  it('fires a rule causally with its cooldown and gives exactly the count asked', () => {
    // Strength rises to 1 at tick 300 and stays: one signal per cooldown, not one per tick.
    const n = 600;
    const strength = new Float64Array(n);
    const direction = new Int8Array(n).fill(1);
    for (let t = 300; t < n; t++) strength[t] = 1;
    strength[250] = 0.5;
    const series: RuleSeries = { name: 'momentum', strength: [[strength]], direction: [[direction]] };
    const r = run(Array.from({ length: n }, () => 100));
    const got = ruleSignals([r], series, 5);
    expect(got).toHaveLength(5);
    const ticks = got.map((s) => s.tick).sort((a, b) => a - b);
    expect(ticks[0]).toBe(300);
    for (let k = 1; k < ticks.length; k++) expect(ticks[k]! - ticks[k - 1]!).toBe(COOLDOWN_TICKS + 1);
    // More than the rule can give at the top strength: the threshold drops to include tick 250.
    const many = ruleSignals([r], series, 100);
    expect(many.some((s) => s.tick === 250)).toBe(true);
    expect(many).toHaveLength(1 + Math.ceil((n - 300) / (COOLDOWN_TICKS + 1)));
  });

  it('momentum follows the sign of the past return and never reads the future', () => {
    const mids = Array.from({ length: 400 }, (_, t) => (t < 300 ? 100 : 100 * Math.exp(0.001 * (t - 299))));
    const r = run(mids);
    const series = momentumSeries([r]);
    const first = ruleSignals([r], series, 1)[0]!;
    expect(first.direction).toBe(1);
    expect(first.tick).toBeGreaterThan(300);
    // Strength and direction up to a tick do not change when what follows it changes.
    const changed = mids.slice();
    for (let t = 350; t < changed.length; t++) changed[t] = 50;
    const again = momentumSeries([run(changed)]);
    expect(again.strength[0]![0]!.subarray(0, 350)).toEqual(series.strength[0]![0]!.subarray(0, 350));
    expect(again.direction[0]![0]!.subarray(0, 350)).toEqual(series.direction[0]![0]!.subarray(0, 350));
  });

  it('draws random signals deterministically for a seed, after warm-up', () => {
    const r = run(Array.from({ length: 1000 }, () => 100));
    const a = randomSignals([r], 50, 9);
    expect(a).toEqual(randomSignals([r], 50, 9));
    expect(a).not.toEqual(randomSignals([r], 50, 10));
    expect(a.every((s) => s.tick >= 200 && s.tick < 1000 && Math.abs(s.direction) === 1)).toBe(true);
  });
});

describe('target', () => {
  const row = (source: 'engine' | 'momentum' | 'random', dir: number, fwd: number, auc: number | null) => ({
    source,
    pattern: 'all',
    signals: 100,
    precisionLocation: dir,
    precisionDirection: dir,
    recall: 1,
    forwardReturnBp: { '200': fwd },
    hitRate: 0.5,
    auc,
    calibration:
      source === 'engine'
        ? [
            { from: 0.6, to: 0.7, n: 60, meanScore: 0.65, hitRate: 0.7 },
            { from: 0.9, to: 1, n: 10, meanScore: 0.95, hitRate: 0.2 },
          ]
        : [],
  });

  it('passes when the engine beats both baselines, the AUC floor and calibration in populated bins', () => {
    const t = checkTarget(
      [row('engine', 0.3, 5, 0.7), row('momentum', 0.2, 1, 0.5), row('random', 0.05, 0, 0.5)],
      200,
    );
    expect(t.checks.map((c) => c.passed)).toEqual([true, true, true, true, true, true]);
    expect(t.met).toBe(true);
  });

  it('fails the checks the engine misses, naming them', () => {
    const t = checkTarget(
      [row('engine', 0.1, 5, 0.6), row('momentum', 0.2, 6, 0.5), row('random', 0.05, 0, 0.5)],
      200,
    );
    expect(t.met).toBe(false);
    expect(t.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual([
      'direction precision above momentum',
      'forward return (200 ticks) above momentum',
      'AUC at least 0.65',
    ]);
  });
});
