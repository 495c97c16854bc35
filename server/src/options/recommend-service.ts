import { instruments, positions } from '@aegis/shared/db';
import { withTenant } from '@aegis/shared/db/client';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import {
  type DeskExposure,
  type ExposurePosition,
  type ProposedOrder,
  type RiskOutcome,
  recommendStream,
} from '@aegis/shared/options/recommend';
import type { OrderIntent, RiskDecision } from '@aegis/shared/risk/governor';
import type { ChainView } from '@aegis/shared/schemas/option-chain';
import type { RecommendationEvent, RecommendInput } from '@aegis/shared/schemas/option-recommendation';
import type { PlaceOrderInput } from '@aegis/shared/schemas/order';
import { and, eq, ne, or } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import type { ExecutionRuntime } from '../execution/runtime.ts';
import { instrumentRegistryOf } from '../market/instrument-registry.ts';
import { type OptionChainContext, optionChainOf } from '../market/option-chain.ts';
import { type PreferenceOwner, readPreferences, savePreferences } from './preferences.ts';
import { recommendLimiterOf } from './rate-limits.ts';

/**
 * `options.recommend` (docs/option-recommendations.md): admits the call against the
 * recommendation limits, checks the symbol, resolves the capital (the input's, else the saved
 * one) and saves it with the preset when asked, loads the chain, then streams the pure
 * recommender's layers with the governor's dry run as its risk layer. Nothing is placed and
 * nothing is audited: a recommendation is a read.
 */
export interface RecommendContext extends OptionChainContext {
  readonly db: Db;
  readonly execution?: ExecutionRuntime | undefined;
  readonly config: OptionChainContext['config'] & { readonly redisUrl: string | undefined };
  readonly log: Logger;
}

export interface RecommendCaller extends PreferenceOwner {
  readonly origin: OrderIntent['origin'];
}

/** The governor's verdict on what the recommendation would place (a dry run). */
async function checkOrder(
  ex: ExecutionRuntime,
  caller: RecommendCaller,
  order: ProposedOrder,
): Promise<RiskOutcome> {
  let d: RiskDecision;
  if (order.kind === 'order') {
    const input: PlaceOrderInput =
      order.limitPrice === null
        ? {
            symbol: order.symbol,
            side: order.side,
            orderType: 'market',
            timeInForce: 'day',
            quantity: order.quantity,
          }
        : {
            symbol: order.symbol,
            side: order.side,
            orderType: 'limit',
            timeInForce: 'day',
            quantity: order.quantity,
            limitPrice: order.limitPrice,
          };
    d = await ex.orders.check(caller.tenantId, input, caller.origin);
  } else {
    const c = await ex.combos.check(
      caller.tenantId,
      {
        strategy: 'vertical',
        legs: order.legs.map((l) => ({ symbol: l.symbol, side: l.side, ratio: l.ratio })),
        quantity: order.quantity,
        orderType: 'limit',
        netLimitPrice: order.netLimitPrice,
        timeInForce: 'day',
      },
      caller.origin,
    );
    return { allowed: c.allowed, verdicts: c.verdicts.map((v) => ({ ...v })), maxLoss: c.maxLoss };
  }
  return { allowed: d.allowed, verdicts: d.verdicts.map((v) => ({ ...v })) };
}

/**
 * The desk's positions on the chain's underlying (its options and itself) with each unit's
 * delta in underlying units: an option listed in the chain takes the chain's delta (solved
 * from its current mid), any other the delta stored on the instrument; the underlying counts
 * its multiplier.
 */
async function loadExposure(db: Db, tenantId: TenantId, chain: ChainView): Promise<DeskExposure> {
  return withTenant(db, tenantId, async (tx) => {
    const [u] = await tx
      .select({ id: instruments.id, multiplier: instruments.multiplier, lotSize: instruments.lotSize })
      .from(instruments)
      .where(eq(instruments.symbol, chain.underlying));
    if (!u)
      throw new AppError(ErrorCode.NOT_FOUND, `symbol: ${chain.underlying} is not listed`, {
        field: 'symbol',
      });
    const held = await tx
      .select({
        symbol: positions.symbol,
        quantity: positions.quantity,
        assetClass: instruments.assetClass,
        multiplier: instruments.multiplier,
        greeks: instruments.greeks,
      })
      .from(positions)
      .innerJoin(instruments, eq(instruments.symbol, positions.symbol))
      .where(
        and(
          eq(positions.tenantId, tenantId),
          ne(positions.quantity, '0'),
          or(eq(instruments.id, u.id), eq(instruments.underlyingId, u.id)),
        ),
      );
    const fromChain = new Map(chain.contracts.map((c) => [c.symbol, c.greeks?.delta ?? null]));
    const out: ExposurePosition[] = held.map((p) => {
      const mult = Number(p.multiplier);
      if (p.assetClass !== 'option')
        return { symbol: p.symbol, quantity: p.quantity, unitDelta: mult, source: 'linear' };
      const live = fromChain.get(p.symbol);
      if (live !== undefined && live !== null) {
        return { symbol: p.symbol, quantity: p.quantity, unitDelta: live * mult, source: 'chain' };
      }
      const stored = (p.greeks as { delta?: unknown } | null)?.delta;
      return typeof stored === 'number'
        ? { symbol: p.symbol, quantity: p.quantity, unitDelta: stored * mult, source: 'stored' }
        : { symbol: p.symbol, quantity: p.quantity, unitDelta: null, source: 'none' };
    });
    out.sort((a, b) => a.symbol.localeCompare(b.symbol));
    return { positions: out, underlyingMultiplier: u.multiplier, lotSize: u.lotSize };
  });
}

/**
 * Everything a recommendation needs before its first layer — the rate limits, the symbol, the
 * capital (saved with the preset when asked) and the chain — is done here, before the stream
 * is handed back: a refusal is the call's error, and the saved preferences are committed by the
 * time the call is accepted (a client that closes the stream at once leaves no write behind).
 */
export async function openRecommendation(
  ctx: RecommendContext,
  caller: RecommendCaller,
  input: RecommendInput,
): Promise<AsyncGenerator<RecommendationEvent>> {
  const limiter = recommendLimiterOf(ctx);
  await limiter.admitUser(caller);
  // The symbol's window is keyed by the registry's spelling, so variants of one name share it.
  const inst = await instrumentRegistryOf(ctx.db).require(input.symbol, 'symbol');
  await limiter.admitSymbol({ tenantId: caller.tenantId, symbol: inst.symbol });
  const ex = ctx.execution;
  if (!ex)
    throw new AppError(
      ErrorCode.UNAVAILABLE,
      'recommendations need the execution service (prices, governor)',
    );

  const capital = await withTenant(ctx.db, caller.tenantId, async (tx) => {
    const saved = await readPreferences(tx, caller);
    const c = input.capital ?? saved.capital;
    // A hedge is sized by the desk's delta, not by capital: none is needed for it.
    if (c === null && input.strategy === 'delta_hedge') return null;
    if (c === null) {
      throw new AppError(ErrorCode.BAD_INPUT, 'capital: none given and none saved in the profile', {
        field: 'capital',
      });
    }
    return c;
  });

  const chain = await withTenant(ctx.db, caller.tenantId, (tx) =>
    optionChainOf(ctx).chain(tx, { symbol: inst.symbol }, ctx.log),
  );
  // Saved last, once nothing else can refuse the call: a refused call writes nothing.
  if (input.save && capital !== null) {
    await withTenant(ctx.db, caller.tenantId, (tx) =>
      savePreferences(tx, caller, { capital, preset: input.preset }),
    );
  }
  return recommendStream(
    { view: input.view, preset: input.preset, strategy: input.strategy, capital: capital ?? '0' },
    {
      chain,
      exposure: () => loadExposure(ctx.db, caller.tenantId, chain),
      check: (order) => checkOrder(ex, caller, order),
    },
  );
}
