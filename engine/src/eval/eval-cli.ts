/**
 * `npm run eval:signals` — the signal evaluation harness (docs/signal-evaluation.md).
 *
 *   npm run eval:signals -- [--split test|validation|train] [--model engine/models/signal-mlp.json]
 *                           [--symbols 20] [--ticks 2000000] [--json] [--out-dir engine/eval/results]
 *
 * Runs the split's labelled markets (one per seed; --ticks per seed) through the engine's features,
 * detectors and model, beside the momentum, mean-reversion and random baselines at the same signal
 * count; prints a table (or the JSON with --json) and writes signals-<split>.json (SignalEvaluation)
 * and signals-<split>.svg to --out-dir. Deterministic: the same arguments give the same bytes.
 * For machine-readable output use `npm run --silent eval:signals -- --json` (npm's own header
 * would otherwise precede the JSON on stdout). A usage error exits with status 2.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { signalEvaluationSchema } from '@aegis/shared/schemas/signal-quality';
import { DEFAULT_JSON_PATH, loadModelFile } from '../model/model-file.ts';
import { formatBreakdown } from './event-breakdown.ts';
import { DEFAULT_SYMBOLS, DEFAULT_TICKS_PER_SEED, evaluateSplit } from './harness.ts';
import { evaluationChart, formatJson } from './report-chart.ts';
import { formatEvaluation } from './report-table.ts';
import type { Split } from './splits.ts';

const DEFAULT_OUT_DIR = fileURLToPath(new URL('../../eval/results', import.meta.url));

const USAGE =
  'usage: npm run eval:signals -- [--split test|validation|train] [--model <signal-mlp.json>] ' +
  '[--symbols N] [--ticks N per seed] [--json] [--out-dir <dir>]';

function usageError(message: string): never {
  process.stderr.write(`eval:signals: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        split: { type: 'string', default: 'test' },
        model: { type: 'string', default: DEFAULT_JSON_PATH },
        symbols: { type: 'string', default: String(DEFAULT_SYMBOLS) },
        ticks: { type: 'string', default: String(DEFAULT_TICKS_PER_SEED) },
        json: { type: 'boolean', default: false },
        'out-dir': { type: 'string', default: DEFAULT_OUT_DIR },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    return usageError((err as Error).message);
  }
}

const values = parse();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

function positiveInt(name: 'symbols' | 'ticks'): number {
  const v = Number(values[name]);
  if (!Number.isSafeInteger(v) || v < 1)
    usageError(`--${name} must be a positive integer, got ${values[name]}`);
  return v;
}

const split = values.split;
if (split !== 'test' && split !== 'validation' && split !== 'train') {
  usageError(`--split must be test, validation or train, got ${split}`);
}
const symbols = positiveInt('symbols');
const ticksPerSeed = positiveInt('ticks');
const { file, model } = await loadModelFile(values.model).catch((err: Error) =>
  usageError(`--model ${values.model}: ${err.message}`),
);
const { evaluation, breakdown, signals } = evaluateSplit({
  split: split as Split,
  model,
  modelVersion: file.version,
  symbols,
  ticksPerSeed,
});
// The contract every reader (registry, console, CLI) parses: check it before writing.
signalEvaluationSchema.parse(evaluation);

const outDir = values['out-dir'];
await mkdir(outDir, { recursive: true });
const jsonPath = join(outDir, `signals-${split}.json`);
const svgPath = join(outDir, `signals-${split}.svg`);
const json = formatJson(evaluation);
await writeFile(jsonPath, json);
await writeFile(svgPath, evaluationChart(evaluation));
if (values.json) {
  process.stdout.write(json);
} else {
  const where = formatBreakdown([
    { label: 'engine', breakdown: breakdown.engine, total: signals.engine.length },
    { label: 'momentum rule', breakdown: breakdown.momentum, total: signals.momentum.length },
    { label: 'mean-reversion rule', breakdown: breakdown.meanReversion, total: signals.meanReversion.length },
    { label: 'random', breakdown: breakdown.random, total: signals.random.length },
  ]);
  const main = evaluation.horizonsTicks[0];
  process.stdout.write(
    `${formatEvaluation(evaluation)}\n\nwhere the signals fall (share of signals, mean forward return at ${main} ticks, ` +
      `signals in the event's direction)\n${where}\n\nwrote ${jsonPath}\n      ${svgPath}\n`,
  );
}
