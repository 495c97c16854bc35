import { BPS, type Dec, decMin, ZERO } from '../accounting/decimal.ts';

export type Side = 'buy' | 'sell';

/**
 * The touch of one instrument as the fill model reads it: the server's quote book
 * (server/src/brokers/quote-book.ts TopOfBook) and a backtest's simulated book both have this shape.
 */
export interface TopOfBook {
  readonly bid: Dec | null;
  readonly ask: Dec | null;
  readonly bidSize: Dec;
  readonly askSize: Dec;
}

/**
 * The paper broker's liquidity model, pure: the paper broker (server/src/brokers/paper/matching.ts) and the
 * backtester (engine/src/backtest/) fill through these same functions. Taking liquidity walks
 * synthetic depth: level 0 is the displayed touch (price and size from the latest quote); each further level repeats the displayed
 * size at a price `slippageBps` of the touch worse than the one before. So an order up to the
 * displayed size fills at the touch, and a larger one pays slippage in proportion to how many
 * multiples of the displayed depth it needs. Depth stops after `maxLevels` levels.
 */
export interface FillModel {
  readonly slippageBps: Dec;
  readonly maxLevels: number;
}

export interface LevelFill {
  readonly price: Dec;
  readonly quantity: Dec;
}

export function takeLiquidity(
  book: TopOfBook | null,
  side: Side,
  quantity: Dec,
  limit: Dec | null,
  model: FillModel,
): LevelFill[] {
  if (!book) return [];
  const touch = side === 'buy' ? book.ask : book.bid;
  const size = side === 'buy' ? book.askSize : book.bidSize;
  if (!touch || !size.gt(0)) return [];
  const step = touch.times(model.slippageBps).div(BPS);
  const fills: LevelFill[] = [];
  let remaining = quantity;
  for (let k = 0; k < model.maxLevels && remaining.gt(0); k++) {
    const price = side === 'buy' ? touch.plus(step.times(k)) : touch.minus(step.times(k));
    if (!price.gt(0)) break;
    if (limit && (side === 'buy' ? price.gt(limit) : price.lt(limit))) break;
    const q = decMin(remaining, size);
    fills.push({ price: price.toDecimalPlaces(12), quantity: q });
    remaining = remaining.minus(q);
  }
  return mergeSamePrice(fills);
}

function mergeSamePrice(fills: LevelFill[]): LevelFill[] {
  const out: LevelFill[] = [];
  for (const f of fills) {
    const last = out.at(-1);
    if (last?.price.eq(f.price))
      out[out.length - 1] = { price: last.price, quantity: last.quantity.plus(f.quantity) };
    else out.push(f);
  }
  return out;
}

export const totalQuantity = (fills: readonly LevelFill[]): Dec =>
  fills.reduce((a, f) => a.plus(f.quantity), ZERO);

/** Is a limit order marketable against the book (would take liquidity on arrival)? */
export function isMarketable(book: TopOfBook | null, side: Side, limit: Dec): boolean {
  if (!book) return false;
  return (side === 'buy' ? book.ask?.lte(limit) : book.bid?.gte(limit)) === true;
}

/** Has a stop been reached? Buy stops on a trade or bid at/above the stop; sell stops mirror. */
export function isStopTriggered(
  book: TopOfBook | null,
  side: Side,
  stop: Dec,
  tradePrice: Dec | null,
): boolean {
  if (tradePrice) return side === 'buy' ? tradePrice.gte(stop) : tradePrice.lte(stop);
  if (!book) return false;
  return (side === 'buy' ? book.bid?.gte(stop) : book.ask?.lte(stop)) === true;
}

/** Fee of one fill: bps of the notional, with the per-order minimum charged on the first fill. */
export function feeFor(notional: Dec, feeBps: Dec, minFee: Dec, firstFill: boolean): Dec {
  const fee = notional.times(feeBps).div(BPS);
  return (firstFill && fee.lt(minFee) ? minFee : fee).toDecimalPlaces(8);
}
