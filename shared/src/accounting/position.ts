import { type Dec, dec, decCached, decStr, quantize, ZERO } from './decimal.ts';

/**
 * Positions by AVERAGE COST (not FIFO): buying into a long (or selling into a short) blends the
 * new price into the average cost; trades that reduce the position realize
 * (exit price − average cost) × closed quantity × multiplier (sign flipped for shorts) and leave
 * the average cost unchanged; a trade through zero closes the old position at its average cost
 * and opens the remainder at the trade price. Fees are kept apart from realized P&L
 * (`realizedPnl` is gross; net = realizedPnl − fees) so both can be shown.
 */
export interface PositionState {
  readonly symbol: string;
  /** Signed: positive long, negative short. */
  readonly quantity: string;
  readonly avgCost: string;
  readonly realizedPnl: string;
  readonly fees: string;
}

export interface FillInput {
  readonly side: 'buy' | 'sell';
  readonly quantity: string;
  readonly price: string;
  readonly fee?: string;
  /** Contract multiplier of the instrument (1 for shares and coins, 100 for US equity options). */
  readonly multiplier?: string;
}

export interface FillEffect {
  readonly position: PositionState;
  /** Gross P&L realized by this fill (0 when it only opened or added). */
  readonly realized: string;
  /** Quantity this fill closed out of the previous position. */
  readonly closedQuantity: string;
}

export const flatPosition = (symbol: string): PositionState => ({
  symbol,
  quantity: '0',
  avgCost: '0',
  realizedPnl: '0',
  fees: '0',
});

export function applyFill(p: PositionState, f: FillInput): FillEffect {
  const q = dec(f.quantity);
  const px = dec(f.price);
  if (!q.gt(0) || !px.gt(0)) throw new RangeError('fill quantity and price must be positive');
  const mult = dec(f.multiplier ?? '1');
  const fee = dec(f.fee ?? '0');
  const pos = dec(p.quantity);
  const avg = dec(p.avgCost);
  const signed = f.side === 'buy' ? q : q.neg();

  let newQty: Dec;
  let newAvg: Dec;
  let realized = ZERO;
  let closed = ZERO;
  if (pos.isZero() || pos.isPos() === signed.isPos()) {
    // Opening or adding: blend the average cost.
    newQty = pos.plus(signed);
    newAvg = pos.abs().times(avg).plus(q.times(px)).div(newQty.abs());
  } else {
    closed = q.lt(pos.abs()) ? q : pos.abs();
    const direction = pos.isPos() ? 1 : -1;
    realized = px.minus(avg).times(closed).times(mult).times(direction);
    newQty = pos.plus(signed);
    if (newQty.isZero()) newAvg = ZERO;
    else if (newQty.isPos() === pos.isPos()) newAvg = avg;
    else newAvg = px; // flipped through zero: the remainder opened at this price
  }
  return {
    position: {
      symbol: p.symbol,
      quantity: decStr(newQty),
      avgCost: decStr(quantize(newAvg)),
      realizedPnl: decStr(dec(p.realizedPnl).plus(realized)),
      fees: decStr(dec(p.fees).plus(fee)),
    },
    realized: decStr(realized),
    closedQuantity: decStr(closed),
  };
}

/** Unrealized P&L at `mark`: (mark − average cost) × quantity × multiplier. */
export function unrealizedPnl(
  p: Pick<PositionState, 'quantity' | 'avgCost'>,
  mark: string,
  multiplier = '1',
): Dec {
  // Stored text and marks: parsed once while they hold (decCached).
  return decCached(mark)
    .minus(decCached(p.avgCost))
    .times(decCached(p.quantity))
    .times(decCached(multiplier));
}
