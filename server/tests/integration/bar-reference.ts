import { type Dec, dec, decStr } from '@aegis/shared/accounting/decimal';
import { BAR_INTERVAL_SECONDS, type BarInterval, type BarView } from '@aegis/shared/schemas/market-data';
import { bucketStartMs } from '../../src/market/bars.ts';

/**
 * Test support for bars: deterministic trades and the bars they make, computed plainly (exact
 * decimals, one pass in time order) as the reference the SQL roll-up is checked against.
 */
export interface Trade {
  ts: Date;
  seq: number;
  price: string;
  size: string;
  aggressor: number;
}

/** A deterministic generator (mulberry32): the same trades on every run. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

let seqNo = 0;
/** A fresh feed sequence number (unique across the file's trades). */
export const nextSeq = (): number => ++seqNo;

/** `n` trades spread over [from, to); every 50th has a twin in the same millisecond. */
export function trades(from: number, to: number, n: number, seed: number): Trade[] {
  const r = random(seed);
  let price = 10_000;
  const out: Trade[] = [];
  for (let i = 0; i < n; i++) {
    price = Math.max(100, price + Math.round((r() - 0.5) * 40));
    const ts = new Date(from + Math.floor(r() * (to - from)));
    out.push({
      ts,
      seq: ++seqNo,
      price: (price / 100).toFixed(2),
      size: String((1 + Math.floor(r() * 5000)) / 1000),
      aggressor: [1, -1, 0][i % 3]!,
    });
    // Same millisecond, next sequence number: open/close must break the tie by seq.
    if (i % 50 === 0)
      out.push({ ts, seq: ++seqNo, price: ((price + 7) / 100).toFixed(2), size: '0.5', aggressor: 1 });
  }
  return out;
}

/** The bars of `list` at `interval`, computed plainly (exact decimals). */
export function reference(list: readonly Trade[], interval: BarInterval): BarView[] {
  const width = BAR_INTERVAL_SECONDS[interval];
  const sorted = [...list].sort((a, b) => a.ts.getTime() - b.ts.getTime() || a.seq - b.seq);
  const out = new Map<number, { open: Dec; high: Dec; low: Dec; close: Dec; volume: Dec; n: number }>();
  for (const x of sorted) {
    const k = bucketStartMs(x.ts.getTime(), width);
    const p = dec(x.price);
    const b = out.get(k);
    if (!b) out.set(k, { open: p, high: p, low: p, close: p, volume: dec(x.size), n: 1 });
    else {
      if (p.gt(b.high)) b.high = p;
      if (p.lt(b.low)) b.low = p;
      b.close = p;
      b.volume = b.volume.plus(x.size);
      b.n++;
    }
  }
  return [...out.entries()]
    .sort(([a], [b]) => a - b)
    .map(([k, b]) => ({
      time: new Date(k).toISOString(),
      open: decStr(b.open),
      high: decStr(b.high),
      low: decStr(b.low),
      close: decStr(b.close),
      volume: decStr(b.volume),
      tradeCount: b.n,
    }));
}
