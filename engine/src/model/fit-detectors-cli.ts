/**
 * `npm run model:fit-detectors` — fits the detectors' thresholds and cooldowns on the evaluation
 * harness's TRAINING seeds (model/detector-fit.ts) and writes engine/models/detector-fit.json.
 * The fitted values are then committed as the defaults in features/params.ts (the model is
 * trained on them and records them).
 *
 *   npm run model:fit-detectors -- [--seeds 2] [--symbols 20] [--ticks 1000000] [--passes 2]
 *
 * --seeds N takes the first N training seeds. Deterministic: the same arguments and code give the
 * same file.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TRAINING_SEEDS } from '../eval/splits.ts';
import { F_BETA, FIT_GRID, FIT_START, fitDetectors, MIN_SIGNALS_PER_SEED } from './detector-fit.ts';

const OUT = fileURLToPath(new URL('../../models/detector-fit.json', import.meta.url));

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '2' },
    symbols: { type: 'string', default: '20' },
    ticks: { type: 'string', default: '1000000' },
    passes: { type: 'string', default: '2' },
  },
  strict: true,
});
const int = (name: keyof typeof values): number => {
  const v = Number(values[name]);
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const seeds = TRAINING_SEEDS.slice(0, int('seeds'));
const symbols = int('symbols');
const ticksPerSeed = int('ticks');
const t0 = performance.now();
const fit = fitDetectors({
  seeds,
  symbols,
  ticksPerSeed,
  passes: int('passes'),
  start: FIT_START,
  onStep: (line) => console.log(line),
});
const file = {
  objective: `per pattern: F-score (beta ${F_BETA}) of direction precision and recall on the training seeds (0 below the count floor)`,
  minSignalsPerSeed: MIN_SIGNALS_PER_SEED,
  data: { generator: 'engine/src/eval/labelled-market.ts', split: 'train', seeds, symbols, ticksPerSeed },
  start: FIT_START,
  grid: FIT_GRID,
  params: fit.params,
  scores: fit.scores,
  evaluations: fit.evaluations,
};
await writeFile(OUT, `${JSON.stringify(file, null, 2)}\n`);
console.log(JSON.stringify(fit.params, null, 2));
console.log(
  `${fit.evaluations} evaluations, ${((performance.now() - t0) / 1000).toFixed(0)} s; wrote ${OUT}`,
);
