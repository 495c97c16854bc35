import { BPS, type Dec, dec, ONE } from '../accounting/decimal.ts';
import { DEFAULT_MAX_FUTURE_SKEW_MS } from '../market/event-time.ts';
import { RiskReason, RiskRule, type RuleVerdict } from './reasons.ts';
import type { Derived, OrderIntent, QuoteInfo, RiskContext, RiskLimits } from './types.ts';
import { failed, limitRemoved, notApplicable, passed } from './verdict.ts';

/** Reference price of a quote: the mid when both sides exist, else the last trade. */
export function referencePrice(q: QuoteInfo | null): Dec | null {
  if (!q) return null;
  if (q.bid && q.ask) return dec(q.bid).plus(dec(q.ask)).div(2);
  return q.last ? dec(q.last) : null;
}

/**
 * Age of the reference quote in ms at `now`, signed: negative when the quote is dated in the
 * future. A future quote is not "age 0": beyond the tolerated clock skew it is bad data (see
 * market/event-time.ts) and fails the reference-age rule below.
 */
export const quoteAgeMs = (q: QuoteInfo, now: Date): number => now.getTime() - q.ts.getTime();

/**
 * The reference price must exist and be fresh. Stale or missing reference data blocks
 * risk-increasing orders; risk-reducing orders still pass so a desk can always get flat.
 */
export function checkReferencePrice(d: Derived, ctx: RiskContext, limits: RiskLimits): RuleVerdict {
  if (limits.maxReferenceAgeMs === null)
    return limitRemoved(RiskRule.REFERENCE_PRICE, limits, 'maxReferenceAgeMs');
  const ref = referencePrice(ctx.quote);
  if (ref === null || !ctx.quote) {
    return d.reducing
      ? notApplicable(RiskRule.REFERENCE_PRICE, 'no reference price; risk-reducing order allowed')
      : failed(
          RiskRule.REFERENCE_PRICE,
          RiskReason.NO_REFERENCE_PRICE,
          'no reference price for the instrument',
        );
  }
  const age = quoteAgeMs(ctx.quote, ctx.now);
  if (-age > DEFAULT_MAX_FUTURE_SKEW_MS && !d.reducing) {
    // A quote from the future is a clock or feed error; a "newest wins" book would otherwise
    // trade on it until the wall clock caught up.
    return failed(
      RiskRule.REFERENCE_PRICE,
      RiskReason.STALE_REFERENCE_PRICE,
      'reference price is dated in the future (age in ms)',
      { limit: limits.maxReferenceAgeMs, current: age },
    );
  }
  if (age > limits.maxReferenceAgeMs && !d.reducing) {
    return failed(
      RiskRule.REFERENCE_PRICE,
      RiskReason.STALE_REFERENCE_PRICE,
      'reference price is stale (age in ms)',
      {
        limit: limits.maxReferenceAgeMs,
        current: age,
      },
    );
  }
  return passed(RiskRule.REFERENCE_PRICE, { limit: limits.maxReferenceAgeMs, current: age });
}

/**
 * Price collar (fat-finger guard): a buy's limit may not exceed reference × (1 + collar), a sell's
 * may not go below reference × (1 − collar). Limit orders are collared against the reference
 * price; stop-limit orders against their own stop price (they trade only once it is reached).
 * Market and stop orders carry no price to collar.
 */
export function checkPriceCollar(
  order: OrderIntent,
  d: Derived,
  ctx: RiskContext,
  limits: RiskLimits,
): RuleVerdict {
  if (limits.priceCollarBps === null) return limitRemoved(RiskRule.PRICE_COLLAR, limits, 'priceCollarBps');
  if (order.orderType === 'market' || order.orderType === 'stop' || !order.limitPrice) {
    return notApplicable(
      RiskRule.PRICE_COLLAR,
      `${order.orderType.replace('_', ' ')} order: no limit price to collar`,
      { limit: limits.priceCollarBps },
    );
  }
  const anchor =
    order.orderType === 'stop_limit' && order.stopPrice ? dec(order.stopPrice) : referencePrice(ctx.quote);
  if (anchor === null) {
    return d.reducing
      ? notApplicable(RiskRule.PRICE_COLLAR, 'no reference price; risk-reducing order')
      : failed(RiskRule.PRICE_COLLAR, RiskReason.NO_REFERENCE_PRICE, 'no reference price to collar against');
  }
  const band = dec(limits.priceCollarBps).div(BPS);
  const price = dec(order.limitPrice);
  const bound = order.side === 'buy' ? anchor.times(ONE.plus(band)) : anchor.times(ONE.minus(band));
  const outside = order.side === 'buy' ? price.gt(bound) : price.lt(bound);
  if (outside) {
    return failed(RiskRule.PRICE_COLLAR, RiskReason.PRICE_OUTSIDE_COLLAR, 'limit price outside the collar', {
      limit: bound,
      requested: price,
      current: anchor,
    });
  }
  return passed(RiskRule.PRICE_COLLAR, { limit: bound, requested: price, current: anchor });
}

/** Spread guard: the quoted spread, in bps of the mid, must not exceed max_spread_bps. */
export function checkSpread(ctx: RiskContext, limits: RiskLimits): RuleVerdict {
  if (limits.maxSpreadBps === null) return limitRemoved(RiskRule.SPREAD, limits, 'maxSpreadBps');
  const q = ctx.quote;
  if (!q?.bid || !q.ask) {
    return failed(RiskRule.SPREAD, RiskReason.NO_QUOTE, 'no two-sided quote to measure the spread', {
      limit: limits.maxSpreadBps,
    });
  }
  const bid = dec(q.bid);
  const ask = dec(q.ask);
  const mid = bid.plus(ask).div(2);
  if (mid.lte(0)) return failed(RiskRule.SPREAD, RiskReason.NO_QUOTE, 'quote is not positive');
  const spreadBps = ask.minus(bid).div(mid).times(BPS);
  if (spreadBps.gt(limits.maxSpreadBps)) {
    return failed(RiskRule.SPREAD, RiskReason.SPREAD_TOO_WIDE, 'quoted spread too wide (bps)', {
      limit: limits.maxSpreadBps,
      current: spreadBps.toDecimalPlaces(4),
    });
  }
  return passed(RiskRule.SPREAD, { limit: limits.maxSpreadBps, current: spreadBps.toDecimalPlaces(4) });
}
