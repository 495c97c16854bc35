import type { SignalEvaluation, SignalQualityRow } from '@aegis/shared/schemas/signal-quality';

/**
 * The evaluation as an SVG chart, written by hand (no dependency, byte-stable): three panels,
 * direction precision and mean forward return (main horizon) per source over all signals, and
 * the engine's calibration (mean score → hit rate per bin, the diagonal is perfect).
 */

const W = 960;
const H = 360;
const PANEL_W = 280;
const PANEL_H = 220;
const TOP = 70;
const COLORS: Readonly<Record<SignalQualityRow['source'], string>> = {
  engine: '#2563eb',
  momentum: '#f59e0b',
  mean_reversion_rule: '#10b981',
  random: '#9ca3af',
};
const LABELS: Readonly<Record<SignalQualityRow['source'], string>> = {
  engine: 'engine',
  momentum: 'momentum',
  mean_reversion_rule: 'mean rev.',
  random: 'random',
};

function f(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function bars(
  x0: number,
  title: string,
  rows: readonly SignalQualityRow[],
  value: (r: SignalQualityRow) => number | null,
  unit: (v: number) => string,
): string[] {
  const out: string[] = [];
  const vals = rows.map((r) => value(r) ?? 0);
  const max = Math.max(1e-9, ...vals.map((v) => Math.abs(v)));
  const hasNeg = vals.some((v) => v < 0);
  // Zero line in the middle when a value is negative, else at the bottom.
  const zeroY = TOP + (hasNeg ? PANEL_H / 2 : PANEL_H);
  const scale = (hasNeg ? PANEL_H / 2 : PANEL_H) / max;
  const bw = PANEL_W / rows.length;
  out.push(`<text x="${f(x0)}" y="${TOP - 20}" class="t">${esc(title)}</text>`);
  out.push(`<line x1="${f(x0)}" y1="${f(zeroY)}" x2="${f(x0 + PANEL_W)}" y2="${f(zeroY)}" class="axis"/>`);
  rows.forEach((r, i) => {
    const v = vals[i]!;
    const hgt = Math.abs(v) * scale;
    const x = x0 + i * bw + bw * 0.15;
    const y = v >= 0 ? zeroY - hgt : zeroY;
    out.push(
      `<rect x="${f(x)}" y="${f(y)}" width="${f(bw * 0.7)}" height="${f(hgt)}" fill="${COLORS[r.source]}"/>`,
    );
    const ly = v >= 0 ? y - 4 : y + hgt + 12;
    out.push(`<text x="${f(x + bw * 0.35)}" y="${f(ly)}" class="v">${esc(unit(v))}</text>`);
    out.push(`<text x="${f(x + bw * 0.35)}" y="${TOP + PANEL_H + 16}" class="l">${LABELS[r.source]}</text>`);
  });
  return out;
}

function calibration(x0: number, engine: SignalQualityRow | undefined): string[] {
  const out: string[] = [];
  out.push(`<text x="${f(x0)}" y="${TOP - 20}" class="t">engine calibration (score → hit rate)</text>`);
  out.push(`<rect x="${f(x0)}" y="${TOP}" width="${PANEL_H}" height="${PANEL_H}" class="frame"/>`);
  out.push(`<line x1="${f(x0)}" y1="${f(TOP + PANEL_H)}" x2="${f(x0 + PANEL_H)}" y2="${TOP}" class="diag"/>`);
  for (const t of [0, 0.5, 1]) {
    out.push(`<text x="${f(x0 + t * PANEL_H)}" y="${TOP + PANEL_H + 16}" class="l">${t}</text>`);
    out.push(`<text x="${f(x0 - 6)}" y="${f(TOP + (1 - t) * PANEL_H + 4)}" class="ly">${t}</text>`);
  }
  const bins = (engine?.calibration ?? []).filter(
    (b) => b.n > 0 && b.meanScore !== null && b.hitRate !== null,
  );
  const maxN = Math.max(1, ...bins.map((b) => b.n));
  const pts = bins.map((b) => [x0 + b.meanScore! * PANEL_H, TOP + (1 - b.hitRate!) * PANEL_H, b.n] as const);
  if (pts.length > 1) {
    out.push(`<polyline points="${pts.map(([x, y]) => `${f(x)},${f(y)}`).join(' ')}" class="cal"/>`);
  }
  for (const [x, y, n] of pts) {
    out.push(
      `<circle cx="${f(x)}" cy="${f(y)}" r="${f(2 + 6 * Math.sqrt(n / maxN))}" fill="${COLORS.engine}"/>`,
    );
  }
  return out;
}

export function evaluationChart(e: SignalEvaluation): string {
  const all = e.rows.filter((r) => r.pattern === 'all');
  const main = String(e.horizonsTicks[0]);
  const engine = all.find((r) => r.source === 'engine');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<title>Signal evaluation, ${e.split} split: engine against the momentum, mean-reversion and random baselines</title>`,
    '<style>.t{font-size:13px;font-weight:600}.v{font-size:11px;text-anchor:middle}' +
      '.l{font-size:11px;text-anchor:middle;fill:#374151}.ly{font-size:11px;text-anchor:end;fill:#374151}' +
      '.axis{stroke:#374151}.frame{fill:none;stroke:#d1d5db}.diag{stroke:#9ca3af;stroke-dasharray:4 4}' +
      '.cal{fill:none;stroke:#2563eb;stroke-width:1.5}</style>',
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="20" y="22" class="t">Signal evaluation: model ${esc(e.modelVersion)}, ${e.split} split, ` +
      `${(engine?.signals ?? 0).toLocaleString('en-US')} signals per source, target ${e.target.met ? 'met' : 'not met'}</text>`,
    ...bars(
      40,
      'direction precision (in window, right way)',
      all,
      (r) => r.precisionDirection,
      (v) => `${(v * 100).toFixed(1)}%`,
    ),
    ...bars(
      370,
      `mean forward return, ${main} ticks (bp)`,
      all,
      (r) => r.forwardReturnBp[main] ?? null,
      (v) => v.toFixed(2),
    ),
    ...calibration(710, engine),
    '</svg>',
    '',
  ];
  return parts.join('\n');
}

/**
 * JSON as the repository's formatter (biome) writes it, so a committed result stays lint-clean:
 * two-space indentation, arrays of plain values on one line when that line fits in 110 columns.
 */
export function formatJson(value: unknown): string {
  const text = JSON.stringify(value, null, 2).replace(
    /^( *)("[^"\n]*": )?\[\n((?: *[^\n[\]{},]+,?\n)+) *\]/gm,
    (whole: string, indent: string, key: string | undefined, body: string) => {
      const items = body
        .split('\n')
        .map((l) => l.trim().replace(/,$/, ''))
        .filter((l) => l.length > 0);
      const line = `${indent}${key ?? ''}[${items.join(', ')}]`;
      return line.length <= 110 ? line : whole;
    },
  );
  return `${text}\n`;
}
