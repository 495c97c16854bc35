/**
 * A small Prometheus text-format (0.0.4) builder. Metrics are read from their counters at scrape
 * time (the engine's live in SharedArrayBuffers, the server's in plain objects), so there is no
 * registry to keep in sync — each scrape renders the current values.
 */
export type Labels = Readonly<Record<string, string | number>>;

export class MetricsText {
  readonly #lines: string[] = [];
  readonly #declared = new Set<string>();

  #declare(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    if (this.#declared.has(name)) return;
    this.#declared.add(name);
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  counter(name: string, help: string, value: number, labels?: Labels): this {
    this.#declare(name, 'counter', help);
    this.#lines.push(`${name}${fmtLabels(labels)} ${fmtValue(value)}`);
    return this;
  }

  gauge(name: string, help: string, value: number, labels?: Labels): this {
    this.#declare(name, 'gauge', help);
    this.#lines.push(`${name}${fmtLabels(labels)} ${fmtValue(value)}`);
    return this;
  }

  /**
   * A histogram from per-bucket (non-cumulative) counts; `counts` has one more entry than
   * `bounds` (the +Inf bucket). `scale` converts bounds and sum to the metric's unit.
   */
  histogram(
    name: string,
    help: string,
    h: { bounds: readonly number[]; counts: readonly number[]; sum: number },
    scale = 1,
    labels?: Labels,
  ): this {
    this.#declare(name, 'histogram', help);
    let cumulative = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      cumulative += h.counts[i] ?? 0;
      this.#lines.push(
        `${name}_bucket${fmtLabels({ ...labels, le: fmtValue(clean((h.bounds[i] as number) * scale)) })} ${cumulative}`,
      );
    }
    cumulative += h.counts[h.bounds.length] ?? 0;
    this.#lines.push(`${name}_bucket${fmtLabels({ ...labels, le: '+Inf' })} ${cumulative}`);
    this.#lines.push(`${name}_sum${fmtLabels(labels)} ${fmtValue(clean(h.sum * scale))}`);
    this.#lines.push(`${name}_count${fmtLabels(labels)} ${cumulative}`);
    return this;
  }

  toString(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

function fmtLabels(labels?: Labels): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

function fmtValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** Drops binary-float artifacts of unit scaling (100 × 1e-6 = 0.00009999999999999999). */
function clean(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(12)) : x;
}
