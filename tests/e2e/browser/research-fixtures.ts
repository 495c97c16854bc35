import type { SignalEvaluation, SignalQualityRow } from '@aegis/shared/schemas/signal-quality';
import { signalEvaluationSchema } from '@aegis/shared/schemas/signal-quality';

/**
 * A model registry entry as `npm run model:train` + `npm run eval:signals` store it (fixture: the
 * engine and its harness do not run in the browser tests). The numbers are made up but shaped
 * like a real run: four sources with equal counts, two patterns, calibration bins, the target.
 * Parsed with the shared schema, so a contract change breaks this fixture first.
 */
function row(
  source: SignalQualityRow['source'],
  pattern: string,
  v: {
    n: number;
    dir: number;
    loc: number;
    recall: number;
    fwd: [number, number, number];
    hit: number;
    auc: number | null;
  },
): SignalQualityRow {
  const scored = v.auc !== null;
  return {
    source,
    pattern,
    signals: v.n,
    precisionLocation: v.loc,
    precisionDirection: v.dir,
    recall: v.recall,
    forwardReturnBp: { '50': v.fwd[0], '200': v.fwd[1], '1000': v.fwd[2] },
    hitRate: v.hit,
    auc: v.auc,
    calibration: scored
      ? [0.5, 0.6, 0.7, 0.8, 0.9].map((from, i) => ({
          from,
          to: Math.round((from + 0.1) * 10) / 10,
          n: [420, 310, 180, 90, 25][i]!,
          meanScore: from + 0.05,
          hitRate: from + 0.05 + [-0.04, 0.01, -0.02, 0.03, -0.05][i]!,
        }))
      : [],
  };
}

export function fixtureEvaluation(modelVersion: string): SignalEvaluation {
  return signalEvaluationSchema.parse({
    modelVersion,
    split: 'test',
    seeds: [9001, 9002, 9003],
    symbols: 50,
    ticks: 2_000_000,
    events: 412,
    horizonsTicks: [50, 200, 1000],
    rows: [
      row('engine', 'all', {
        n: 1025,
        dir: 0.412,
        loc: 0.533,
        recall: 0.61,
        fwd: [4.1, 9.8, 12.2],
        hit: 0.68,
        auc: 0.702,
      }),
      row('momentum', 'all', {
        n: 1025,
        dir: 0.181,
        loc: 0.302,
        recall: 0.74,
        fwd: [2.2, 5.1, 3.9],
        hit: 0.55,
        auc: null,
      }),
      row('mean_reversion_rule', 'all', {
        n: 1025,
        dir: 0.094,
        loc: 0.288,
        recall: 0.52,
        fwd: [-1.3, -3.4, -2.2],
        hit: 0.46,
        auc: null,
      }),
      row('random', 'all', {
        n: 1025,
        dir: 0.021,
        loc: 0.041,
        recall: 0.35,
        fwd: [0.1, -0.2, 0.3],
        hit: 0.5,
        auc: null,
      }),
      row('engine', 'order_flow_drift', {
        n: 640,
        dir: 0.455,
        loc: 0.571,
        recall: 0.66,
        fwd: [5.2, 11.9, 15.0],
        hit: 0.7,
        auc: 0.715,
      }),
      row('engine', 'exhaustion_reversion', {
        n: 385,
        dir: 0.34,
        loc: 0.47,
        recall: 0.52,
        fwd: [2.3, 6.3, 7.5],
        hit: 0.64,
        auc: 0.671,
      }),
    ],
    target: {
      met: false,
      checks: [
        {
          name: 'direction precision above every baseline',
          passed: true,
          detail: '41.2 % vs 18.1 % (momentum)',
        },
        {
          name: 'forward return above every baseline',
          passed: true,
          detail: '+9.8 bp vs +5.1 bp at 200 ticks',
        },
        { name: 'AUC ≥ 0.65', passed: true, detail: 'AUC 0.702' },
        { name: 'calibrated score', passed: false, detail: 'expected calibration error 0.064 > 0.05' },
      ],
    },
  });
}
