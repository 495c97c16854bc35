/**
 * A small seeded tick generator for model training, self-contained so the model can be trained
 * without the production feeds (the engine's full synthetic market lives in `feeds/synthetic.ts`).
 *
 * Per symbol, in event time (one step per tick):
 *  - a latent order-flow state `flow` (Ornstein-Uhlenbeck with occasional bursts) sets the chance
 *    that a trade is buyer-initiated and leans the book (bid vs ask size);
 *  - log mid = fundamental + transient: the fundamental is a jump diffusion whose drift follows
 *    `flow` (persistent informed flow moves prices), the transient is a mean-reverting impact term
 *    (uninformed pressure overshoots and comes back);
 *  - spread = base spread scaled by a slowly varying liquidity state, rounded to the tick size.
 * So order-flow imbalance, micro-price lean and momentum carry some information about the next
 * moves and extreme VWAP deviations partly revert — a market in which a model can find an edge
 * only in the structure, not in noise. Deterministic for a seed.
 */
import { SeededRandom } from './seeded-random.ts';

/** The fields of a tick (contract §3 TickRecord), filled in place: no allocation per tick. */
export interface TrainingTick {
  symbolId: number;
  seq: number;
  tsEventUs: number;
  kind: number; // 1 trade, 2 quote
  aggressor: number; // +1 buy, -1 sell, 0
  price: number;
  size: number;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
}

export interface TrainingMarketOptions {
  readonly seed: number;
  readonly symbols: number;
  readonly ticksPerSymbol: number;
}

const TICK_SIZE = 0.01;

interface SymbolState {
  fundamental: number; // log price
  transient: number; // log price offset
  flow: number;
  liquidity: number;
  baseSpreadBps: number;
  volPerTick: number;
  seq: number;
  tsUs: number;
}

/**
 * Calls `onTick` for every tick, symbols interleaved round-robin (as a multiplexed feed would
 * deliver them). `tick` is one reused object.
 */
export function generateTrainingTicks(opts: TrainingMarketOptions, onTick: (t: TrainingTick) => void): void {
  const rng = new SeededRandom(opts.seed);
  const states: SymbolState[] = [];
  for (let s = 0; s < opts.symbols; s++) {
    states.push({
      fundamental: Math.log(5 + rng.next() * 500),
      transient: 0,
      flow: 0,
      liquidity: 1,
      baseSpreadBps: 1 + rng.next() * 4,
      volPerTick: (0.5 + rng.next() * 1.5) * 1e-4,
      seq: 0,
      tsUs: 1_700_000_000_000_000 + s,
    });
  }
  const t: TrainingTick = {
    symbolId: 0,
    seq: 0,
    tsEventUs: 0,
    kind: 2,
    aggressor: 0,
    price: 0,
    size: 0,
    bid: 0,
    ask: 0,
    bidSize: 0,
    askSize: 0,
  };
  for (let i = 0; i < opts.ticksPerSymbol; i++) {
    for (let s = 0; s < opts.symbols; s++) {
      const st = states[s]!;
      // Latent flow: OU with bursts (a large participant starts working an order).
      st.flow += -0.02 * st.flow + 0.08 * rng.normal();
      if (rng.next() < 0.002) st.flow += (rng.next() < 0.5 ? -1 : 1) * (1 + rng.next() * 2);
      st.liquidity += 0.01 * (1 - st.liquidity) + 0.03 * rng.normal();
      if (st.liquidity < 0.3) st.liquidity = 0.3;
      const isTrade = rng.next() < 0.5;
      let aggressor = 0;
      let size = 0;
      if (isTrade) {
        const pBuy = 1 / (1 + Math.exp(-1.5 * st.flow));
        aggressor = rng.next() < pBuy ? 1 : -1;
        size = Math.max(1, Math.round(rng.exponential(100)));
        // Uninformed impact on the transient component, which reverts.
        st.transient += aggressor * 0.3 * st.volPerTick * Math.sqrt(size / 100);
      }
      st.transient *= 0.97;
      // Informed drift follows flow; jumps are rare and large.
      let dx = 0.15 * st.volPerTick * st.flow + st.volPerTick * rng.normal();
      if (rng.next() < 0.0005) dx += rng.normal() * 25 * st.volPerTick;
      st.fundamental += dx;
      const mid = Math.exp(st.fundamental + st.transient);
      const halfSpread = Math.max(
        TICK_SIZE / 2,
        Math.round(((mid * st.baseSpreadBps * 1e-4) / st.liquidity / 2) * 100) / 100,
      );
      const bid = Math.round((mid - halfSpread) * 100) / 100;
      const ask = Math.max(bid + TICK_SIZE, Math.round((mid + halfSpread) * 100) / 100);
      // The book leans with the flow: more resting size on the side the flow comes from.
      const lean = Math.tanh(0.8 * st.flow);
      st.seq++;
      st.tsUs += 100 + Math.floor(rng.exponential(900));
      t.symbolId = s;
      t.seq = st.seq;
      t.tsEventUs = st.tsUs;
      t.kind = isTrade ? 1 : 2;
      t.aggressor = aggressor;
      t.price = isTrade ? (aggressor > 0 ? ask : bid) : (bid + ask) / 2;
      t.size = size;
      t.bid = bid;
      t.ask = ask;
      t.bidSize = Math.max(1, Math.round(rng.exponential(500) * (1 + lean)));
      t.askSize = Math.max(1, Math.round(rng.exponential(500) * (1 - lean)));
      onTick(t);
    }
  }
}
