import type { SignalEvaluation, SignalQualityRow } from '@aegis/shared/schemas/signal-quality';

/**
 * The target on the overall rows, at equal signal counts: the engine's direction precision
 * and mean forward return (main horizon) above the momentum rule and above random, an AUC of at
 * least MIN_AUC, and a calibrated score: in every calibration bin holding at least
 * MIN_BIN_SIGNALS signals, |hit rate − mean score| at most MAX_CALIBRATION_GAP.
 */
export const TARGET = Object.freeze({ minAuc: 0.65, maxCalibrationGap: 0.1, minBinSignals: 50 });

type Check = SignalEvaluation['target']['checks'][number];

function fmt(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined ? 'n/a' : x.toFixed(digits);
}

function above(name: string, engine: number | null, base: number | null, unit: string): Check {
  const passed = engine !== null && base !== null && engine > base;
  return { name, passed, detail: `engine ${fmt(engine)}${unit} vs ${fmt(base)}${unit}` };
}

export function checkTarget(
  rows: readonly SignalQualityRow[],
  mainHorizon: number,
): SignalEvaluation['target'] {
  const row = (source: SignalQualityRow['source']) =>
    rows.find((r) => r.source === source && r.pattern === 'all');
  const engine = row('engine');
  const momentum = row('momentum');
  const random = row('random');
  const h = String(mainHorizon);
  const checks: Check[] = [];
  if (!engine || engine.signals === 0) {
    checks.push({ name: 'engine signals', passed: false, detail: 'the engine produced no signals' });
    return { met: false, checks };
  }
  checks.push(
    above(
      'direction precision above momentum',
      engine.precisionDirection,
      momentum?.precisionDirection ?? null,
      '',
    ),
    above(
      'direction precision above random',
      engine.precisionDirection,
      random?.precisionDirection ?? null,
      '',
    ),
    above(
      `forward return (${h} ticks) above momentum`,
      engine.forwardReturnBp[h] ?? null,
      momentum?.forwardReturnBp[h] ?? null,
      ' bp',
    ),
    above(
      `forward return (${h} ticks) above random`,
      engine.forwardReturnBp[h] ?? null,
      random?.forwardReturnBp[h] ?? null,
      ' bp',
    ),
  );
  checks.push({
    name: `AUC at least ${TARGET.minAuc}`,
    passed: engine.auc !== null && engine.auc >= TARGET.minAuc,
    detail: `engine AUC ${fmt(engine.auc)}`,
  });
  const populated = engine.calibration.filter((b) => b.n >= TARGET.minBinSignals);
  let worst = 0;
  let worstBin = '';
  for (const b of populated) {
    const gap = Math.abs((b.hitRate ?? 0) - (b.meanScore ?? 0));
    if (gap >= worst) {
      worst = gap;
      worstBin = `[${b.from}, ${b.to}): n ${b.n}, mean score ${fmt(b.meanScore, 3)}, hit rate ${fmt(b.hitRate, 3)}`;
    }
  }
  checks.push({
    name: `calibration gap at most ${TARGET.maxCalibrationGap}`,
    passed: populated.length > 0 && worst <= TARGET.maxCalibrationGap,
    detail:
      populated.length > 0
        ? `worst populated bin (n ≥ ${TARGET.minBinSignals}) gap ${fmt(worst, 3)}: ${worstBin}`
        : `no bin holds ${TARGET.minBinSignals} signals`,
  });
  return { met: checks.every((c) => c.passed), checks };
}
