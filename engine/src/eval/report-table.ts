import type { SignalEvaluation, SignalQualityRow } from '@aegis/shared/schemas/signal-quality';

/**
 * The evaluation as a plain-text table (the CLI prints it): per pattern group, the engine and the
 * baselines at the same count, then the target's checks.
 */

const SOURCE_LABEL: Readonly<Record<SignalQualityRow['source'], string>> = {
  engine: 'engine',
  momentum: 'momentum rule',
  mean_reversion_rule: 'mean-reversion rule',
  random: 'random',
};

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(2)} %`;
}

function bp(x: number | null | undefined): string {
  return x === null || x === undefined ? 'n/a' : `${x >= 0 ? '+' : ''}${x.toFixed(2)} bp`;
}

function num(x: number | null, digits = 3): string {
  return x === null ? 'n/a' : x.toFixed(digits);
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

export function formatEvaluation(e: SignalEvaluation): string {
  const h = e.horizonsTicks.map(String);
  const header = [
    'source',
    'signals',
    'in window',
    'right dir',
    'recall',
    ...h.map((x) => `fwd ${x}t`),
    'hit rate',
    'AUC',
  ];
  const lines: string[] = [];
  lines.push(
    `signal evaluation · model ${e.modelVersion} · split ${e.split} (seeds ${e.seeds.join(', ')}) · ` +
      `${e.symbols} symbols · ${e.ticks.toLocaleString('en-US')} ticks · ${e.events} tradable events`,
  );
  const groups = [...new Set(e.rows.map((r) => r.pattern))];
  for (const g of groups) {
    const rows = e.rows.filter((r) => r.pattern === g);
    const table = rows.map((r) => [
      SOURCE_LABEL[r.source],
      r.signals.toLocaleString('en-US'),
      pct(r.precisionLocation),
      pct(r.precisionDirection),
      pct(r.recall),
      ...h.map((x) => bp(r.forwardReturnBp[x])),
      pct(r.hitRate),
      num(r.auc),
    ]);
    const widths = header.map((c, i) => Math.max(c.length, ...table.map((row) => row[i]!.length)));
    lines.push('', g === 'all' ? 'all signals' : `pattern ${g} (baselines at its count)`);
    lines.push(pad(header, widths));
    lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of table) lines.push(pad(row, widths));
  }
  const engine = e.rows.find((r) => r.source === 'engine' && r.pattern === 'all');
  if (engine && engine.calibration.length > 0) {
    lines.push('', 'engine calibration (score bin: signals, mean score → hit rate)');
    for (const b of engine.calibration) {
      if (b.n === 0) continue;
      lines.push(
        `  [${b.from.toFixed(1)}, ${b.to.toFixed(1)}): ${b.n} signals, ${num(b.meanScore)} → ${num(b.hitRate)}`,
      );
    }
  }
  lines.push('', `target ${e.target.met ? 'MET' : 'NOT met'}`);
  for (const c of e.target.checks) lines.push(`  ${c.passed ? 'pass' : 'FAIL'}  ${c.name}: ${c.detail}`);
  return lines.join('\n');
}
