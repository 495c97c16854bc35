import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuleDecider } from '@aegis/shared/agent/rule-decider';
import {
  type BacktestProgress,
  type BacktestSpecInput,
  backtestResultSchema,
  backtestSpecSchema,
} from '@aegis/shared/schemas/backtest';
import { afterAll, describe, expect, it } from 'vitest';
import { LabelledMarket } from '../eval/labelled-market.ts';
import { createTickRecord } from '../feeds/tick.ts';
import { CSV_HEADER, formatCsvLine } from '../feeds/tick-csv.ts';
import { TickFileWriter } from '../feeds/tick-file.ts';
import { canonicalDigest, canonicalJson } from './canonical-json.ts';
import { isBacktestCancelled, runBacktest } from './run-backtest.ts';
import { seededScorer } from './seeded-scorer.ts';
import { fileTickSource, simulationTickSource } from './tick-source.ts';

const SYMBOLS = 5;
const TICKS = 40_000;
const instruments = Array.from({ length: SYMBOLS }, (_, i) => `SIM${i}`);
const dir = mkdtempSync(join(tmpdir(), 'aegis-backtest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function spec(over: Partial<BacktestSpecInput> = {}) {
  return backtestSpecSchema.parse({
    name: 'unit',
    instruments,
    data: { kind: 'simulation', symbols: SYMBOLS, ticks: TICKS },
    seed: 11,
    // A budget large enough that the agent trades often in 40k ticks (~7 simulated minutes).
    agent: { riskPreset: 'aggressive', maxProposalsPerHour: 3000, minHoldingSeconds: 0 },
    ...over,
  });
}

// Seeded weights, biased up: the path is under test here, not the model's edge.
const model = seededScorer(3, { bias: 1 });
/** µs since the epoch of an ISO time with 6 fractional digits. */
const usOf = (iso: string) => Date.parse(`${iso.slice(0, 23)}Z`) * 1000 + Number(iso.slice(23, 26));
const simulation = (s: ReturnType<typeof spec>) =>
  simulationTickSource({ symbols: SYMBOLS, ticks: TICKS, seed: s.seed }, instruments);

describe('runBacktest', () => {
  it('the same spec, seed and data give byte-identical results, and the digest covers them', async () => {
    const s = spec();
    const a = await runBacktest(s, { ticks: simulation(s), model });
    const b = await runBacktest(s, { ticks: simulation(s), model });
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const { digest, ...body } = a;
    expect(digest).toBe(canonicalDigest(body));
    backtestResultSchema.parse(a);
    // It traded: orders with brackets, fills with fees, signals attributed per pattern.
    expect(a.ticks).toBe(TICKS);
    expect(a.signals).toBeGreaterThan(0);
    expect(a.orders.filter((o) => o.role === 'entry').length).toBeGreaterThan(5);
    expect(a.orders.some((o) => o.role === 'stop') && a.orders.some((o) => o.role === 'target')).toBe(true);
    expect(a.fills.length).toBeGreaterThan(0);
    expect(a.attribution.reduce((n, p) => n + p.signals, 0)).toBe(a.signals);
    expect(a.equity.length).toBeGreaterThan(10);
    expect(a.equity[0]!.equity).toBe('100000');
    expect(a.metrics.trades).toBe(a.attribution.reduce((n, p) => n + p.trades, 0));

    const other = spec({ seed: 12 });
    const c = await runBacktest(other, { ticks: simulation(other), model });
    expect(c.digest).not.toBe(a.digest);
  });

  it('replaying the same ticks from a binary tick file or a CSV gives the same result as the simulation', async () => {
    const s = spec();
    const path = join(dir, 'sim.ticks');
    const csvPath = join(dir, 'sim.csv');
    const writer = new TickFileWriter(path, instruments);
    const lines = [CSV_HEADER];
    const market = new LabelledMarket({ symbols: SYMBOLS, seed: s.seed });
    const t = createTickRecord();
    for (let k = 0; k < TICKS; k++) {
      market.next(t);
      t.seq = k;
      writer.write(t);
      lines.push(formatCsvLine(t, instruments[t.symbolId]!));
    }
    writer.close();
    writeFileSync(csvPath, `${lines.join('\n')}\n`);
    const fromSim = await runBacktest(s, { ticks: simulation(s), model });
    const fromFile = await runBacktest(s, { ticks: fileTickSource(path), model });
    const fromCsv = await runBacktest(s, { ticks: fileTickSource(csvPath), model });
    expect(fromFile.digest).toBe(fromSim.digest);
    expect(fromCsv.digest).toBe(fromSim.digest);
  });

  it('features sharded over worker threads give the same result as in one thread', async () => {
    const s = spec();
    const one = await runBacktest(s, { ticks: simulation(s), model });
    const sharded = await runBacktest(s, { ticks: simulation(s), model, featureWorkers: 2 });
    expect(sharded.digest).toBe(one.digest);
  });

  it('feed latency delays every decision by exactly that much of simulated time', async () => {
    const at = async (feedLatencyUs: number) => {
      const s = spec({ execution: { feedLatencyUs, orderLatencyUs: 0 } });
      const r = await runBacktest(s, { ticks: simulation(s), model });
      return r.orders.find((o) => o.role === 'entry')!;
    };
    const now = await at(0);
    const late = await at(250_000);
    expect(late.symbol).toBe(now.symbol);
    expect(usOf(late.tsDecision) - usOf(now.tsDecision)).toBe(250_000);
  });

  it('reports progress up to the whole run, and a cancel rejects with the cancelled error', async () => {
    const s = spec();
    const seen: BacktestProgress[] = [];
    await runBacktest(s, {
      ticks: simulation(s),
      model,
      progressIntervalMs: 0,
      onProgress: (p) => seen.push(p),
    });
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.at(-1)).toMatchObject({ ticks: TICKS, totalTicks: TICKS, fraction: 1, etaSeconds: 0 });
    const fractions = seen.map((p) => p.fraction);
    expect([...fractions].sort((x, y) => x - y)).toEqual(fractions);
    expect(seen.every((p) => p.simTime === null || p.simTime.startsWith('2026-01-02T'))).toBe(true);

    const abort = new AbortController();
    const run = runBacktest(s, {
      ticks: simulation(s),
      model,
      progressIntervalMs: 0,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.ticks > 5000) abort.abort();
      },
    });
    await expect(run).rejects.toSatisfy(isBacktestCancelled);
  });

  it("an asynchronous decider that answers like the rules, late in wall time, gives the rules' result", async () => {
    const rules = spec();
    const expected = await runBacktest(rules, { ticks: simulation(rules), model });
    const llm = spec({ agent: { ...rules.agent, decider: 'openai' } });
    const rd = new RuleDecider();
    let calls = 0;
    const decider = {
      kind: 'openai' as const,
      async decide(input: Parameters<RuleDecider['decide']>[0]) {
        calls++;
        // Ticks keep arriving meanwhile: the runner holds them until the answer is in.
        await new Promise((r) => setTimeout(r, calls % 3));
        return rd.decide(input);
      },
    };
    await expect(runBacktest(llm, { ticks: simulation(llm), model })).rejects.toThrow(/agent\.decider/);
    const got = await runBacktest(llm, { ticks: simulation(llm), model, decider });
    expect(calls).toBeGreaterThan(5);
    expect(got.digest).toBe(expected.digest);
  });

  it('refuses settings the engine does not know, naming the field', async () => {
    const s = spec({ limits: { maxOrderQuantity: '5' } });
    await expect(runBacktest(s, { ticks: simulation(s), model })).rejects.toThrow(/limits\.maxOrderQuantity/);
    const d = spec({ detectors: { noSuchThreshold: 1 } });
    await expect(runBacktest(d, { ticks: simulation(d), model })).rejects.toThrow(/detectors/);
  });

  it('the governor sees the spec limits: a one-unit position limit denies every entry, naming the rule', async () => {
    const s = spec({ limits: { maxPosition: '1' } });
    const r = await runBacktest(s, { ticks: simulation(s), model });
    const entries = r.orders.filter((o) => o.role === 'entry');
    expect(entries.length).toBeGreaterThan(0);
    expect(
      entries.every((o) => o.status === 'denied' && o.denials.some((d) => d.startsWith('position:'))),
    ).toBe(true);
    expect(r.fills).toEqual([]);
    expect(r.metrics.totalReturn).toBe(0);
  });
});
