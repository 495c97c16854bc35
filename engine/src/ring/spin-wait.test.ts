import { describe, expect, it } from 'vitest';
import { MAX_SPIN_US, measureWakeLatency, SpinBudget } from './spin-wait.ts';

describe('SpinBudget', () => {
  it('a budget of 0 never spins: every wait parks', () => {
    const s = new SpinBudget(0);
    let checks = 0;
    for (let i = 0; i < 100; i++) {
      expect(
        s.spin(() => {
          checks++;
          return false;
        }),
      ).toBe(false);
    }
    expect(checks).toBe(100); // one look per wait, no spinning
    expect(s.parks).toBe(100);
    expect(s.spinHits).toBe(0);
  });

  it('misses halve the budget down to nothing, then only an occasional probe spins; a hit restores it', () => {
    const s = new SpinBudget(50);
    expect(s.currentUs).toBe(50);
    const never = () => false;
    for (let i = 0; i < 5; i++) s.spin(never);
    expect(s.currentUs).toBe(0);
    // Parked without spinning (one look each) until the 32nd wait, the probe.
    let looks = 0;
    for (let i = 0; i < 31; i++) {
      s.spin(() => {
        looks++;
        return false;
      });
    }
    expect(looks).toBe(31);
    // The probe spins (a second look, where a park stops at one) and a hit restores the whole
    // budget. The hit comes on the spin's first look, before any clock read: however slowly a busy
    // machine runs the loop, the probe's 12.5 µs cannot run out first (100 looks once did).
    let probeLooks = 0;
    expect(s.spin(() => ++probeLooks >= 2)).toBe(true);
    expect(probeLooks).toBe(2);
    expect(s.currentUs).toBe(50);
    expect(s.spinHits).toBe(1);
  });

  it('caps a budget at MAX_SPIN_US and spinUntilChanged sees a changed word', () => {
    expect(new SpinBudget(10_000).currentUs).toBe(MAX_SPIN_US);
    const a = new Int32Array(new SharedArrayBuffer(4));
    const s = new SpinBudget(5);
    a[0] = 7;
    expect(s.spinUntilChanged(a, 0, 7)).toBe(false);
    expect(s.spinUntilChanged(a, 0, 6)).toBe(true);
  });
});

describe('measureWakeLatency', () => {
  it('measures parked wake-ups with a real thread and reports positive percentiles', async () => {
    const w = await measureWakeLatency(50);
    expect(w.samples).toBeGreaterThan(0);
    expect(w.medianUs).toBeGreaterThan(0);
    expect(w.p90Us).toBeGreaterThanOrEqual(w.medianUs);
  });
});
