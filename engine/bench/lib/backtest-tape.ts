import { existsSync, statSync } from 'node:fs';
import { LabelledMarket } from '../../src/eval/labelled-market.ts';
import { createTickRecord } from '../../src/feeds/tick.ts';
import { TickFileWriter } from '../../src/feeds/tick-file.ts';
import { TICK } from '../../src/ring/layout.ts';

/**
 * The backtest bench's tape: `ticks` ticks of the labelled market over `symbols` symbols, written
 * once as an engine binary tick file (the format a desk uploads or `aegis` converts to), reused by
 * later runs when a file of the right size is already there.
 */
export function ensureTape(
  path: string,
  symbols: number,
  ticks: number,
  seed: number,
): { names: string[]; generatedS: number } {
  const names = Array.from({ length: symbols }, (_, i) => `SYM${String(i).padStart(4, '0')}`);
  if (existsSync(path) && statSync(path).size >= ticks * TICK.bytes) return { names, generatedS: 0 };
  const started = performance.now();
  const writer = new TickFileWriter(path, names);
  const market = new LabelledMarket({ symbols, seed });
  const t = createTickRecord();
  for (let k = 0; k < ticks; k++) {
    market.next(t);
    t.seq = k;
    writer.write(t);
  }
  writer.close();
  return { names, generatedS: (performance.now() - started) / 1000 };
}
