import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SyntheticMarket, syntheticSymbolName } from '../feeds/synthetic.ts';
import { createTickRecord } from '../feeds/tick.ts';
import { CSV_HEADER, formatCsvLine } from '../feeds/tick-csv.ts';
import { buildTrainingData } from './dataset.ts';
import { MODEL_INPUT_SIZE } from './inputs.ts';

const synthetic = { kind: 'synthetic', seed: 7, symbols: 20, ticks: 120_000 } as const;

describe('buildTrainingData', () => {
  it('produces labelled candidates of every pattern with well-formed inputs', async () => {
    const data = await buildTrainingData({ source: synthetic, horizonTicks: 30, trainFraction: 0.8 });
    expect(data.ticks).toBe(120_000);
    for (const n of Object.values(data.candidatesByPattern)) expect(n).toBeGreaterThan(0);
    expect(data.train.n).toBeGreaterThan(data.valid.n);
    expect(data.valid.n).toBeGreaterThan(0);
    for (const set of [data.train, data.valid]) {
      expect(set.d).toBe(MODEL_INPUT_SIZE);
      expect(set.x).toHaveLength(set.n * MODEL_INPUT_SIZE);
      for (let r = 0; r < set.n; r++) {
        const row = set.x.subarray(r * MODEL_INPUT_SIZE, (r + 1) * MODEL_INPUT_SIZE);
        expect(row[7]! + row[8]! + row[9]!).toBe(1); // exactly one pattern
        expect(Math.abs(row[10]!)).toBe(1); // a direction
        expect(row.every((v) => Number.isFinite(v) && Math.abs(v) <= 8)).toBe(true);
        expect(set.y[r] === 0 || set.y[r] === 1).toBe(true);
      }
    }
  });

  it('is deterministic for a seed', async () => {
    const a = await buildTrainingData({ source: synthetic, horizonTicks: 30, trainFraction: 0.8 });
    const b = await buildTrainingData({ source: synthetic, horizonTicks: 30, trainFraction: 0.8 });
    expect(Buffer.from(a.train.x.buffer).equals(Buffer.from(b.train.x.buffer))).toBe(true);
    expect([...a.valid.y]).toEqual([...b.valid.y]);
  });

  it('replaying the same ticks from CSV gives the same dataset as the synthetic source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aegis-dataset-'));
    try {
      const market = new SyntheticMarket({ symbols: synthetic.symbols, seed: synthetic.seed });
      const t = createTickRecord();
      const lines = [CSV_HEADER];
      for (let i = 0; i < synthetic.ticks; i++) {
        market.next(t);
        lines.push(formatCsvLine(t, syntheticSymbolName(t.symbolId)));
      }
      const path = join(dir, 'ticks.csv');
      await writeFile(path, `${lines.join('\n')}\n`);
      const fromSynthetic = await buildTrainingData({
        source: synthetic,
        horizonTicks: 30,
        trainFraction: 0.8,
      });
      const fromReplay = await buildTrainingData({
        source: { kind: 'replay', path, maxSymbols: 100 },
        horizonTicks: 30,
        trainFraction: 0.8,
      });
      expect(fromReplay.ticks).toBe(fromSynthetic.ticks);
      expect(fromReplay.candidatesByPattern).toEqual(fromSynthetic.candidatesByPattern);
      expect(fromReplay.train.n).toBe(fromSynthetic.train.n);
      expect([...fromReplay.train.x]).toEqual([...fromSynthetic.train.x]);
      expect([...fromReplay.valid.y]).toEqual([...fromSynthetic.valid.y]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
