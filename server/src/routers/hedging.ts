import { AppError, ErrorCode } from '@aegis/shared/errors';
import { type BookInstrument, groupOf } from '@aegis/shared/options/greeks-book';
import {
  hedgeActionView,
  hedgingSettingsView,
  updateHedgingSettingsInput,
} from '@aegis/shared/schemas/greeks';
import { z } from 'zod';
import { record as recordAudit } from '../audit/service.ts';
import { actorOf } from '../auth/principal.ts';
import type { Tx } from '../db/database.ts';
import { loadInstruments } from '../execution/risk-context.ts';
import {
  listActions,
  readHedgeMode,
  readHedgeSettings,
  settingsView,
  upsertHedgeSettings,
} from '../hedging/store.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';

/**
 * A target is refused unless its instruments exist and the hedge instrument moves the
 * underlying's delta: the underlying itself (or its future, when the future is the group), or an
 * option on it. Each underlying at most once.
 */
async function assertTargets(
  tx: Tx,
  targets: ReadonlyArray<{ underlying: string; hedgeSymbol: string }>,
): Promise<void> {
  const insts = await loadInstruments(
    tx,
    targets.flatMap((t) => [t.underlying, t.hedgeSymbol]),
  );
  const seen = new Set<string>();
  for (const [i, t] of targets.entries()) {
    const field = (f: string) => `targets[${i}].${f}`;
    if (seen.has(t.underlying)) {
      throw new AppError(ErrorCode.BAD_INPUT, `${field('underlying')}: ${t.underlying} is listed twice`, {
        field: field('underlying'),
      });
    }
    seen.add(t.underlying);
    for (const key of ['underlying', 'hedgeSymbol'] as const) {
      if (!insts.has(t[key])) {
        throw new AppError(ErrorCode.BAD_INPUT, `${field(key)}: no instrument ${t[key]}`, {
          field: field(key),
          reason: 'unknown_instrument',
        });
      }
    }
    const hedge = insts.get(t.hedgeSymbol)!;
    const asBook: BookInstrument = {
      symbol: hedge.symbol,
      assetClass: hedge.assetClass,
      multiplier: hedge.multiplier,
      underlyingSymbol: hedge.underlyingSymbol,
      optionRight: hedge.optionRight,
      strike: hedge.strike,
      expiry: hedge.expiry,
      greeks: null,
    };
    if (groupOf(asBook) !== t.underlying) {
      throw new AppError(
        ErrorCode.BAD_INPUT,
        `${field('hedgeSymbol')}: ${t.hedgeSymbol} does not move ${t.underlying}'s delta (use ${t.underlying} itself or an option on it)`,
        { field: field('hedgeSymbol'), reason: 'not_a_hedge' },
      );
    }
    if (insts.get(t.underlying)!.assetClass === 'option') {
      throw new AppError(ErrorCode.BAD_INPUT, `${field('underlying')}: an option is not an underlying`, {
        field: field('underlying'),
      });
    }
  }
}

/** The delta-neutral hedger of a desk: its settings and what it did. */
export const hedgingRouter = createTRPCRouter({
  settings: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).default({}))
    .output(hedgingSettingsView)
    .query(async ({ ctx }) => {
      const row = await readHedgeSettings(ctx.tx, ctx.desk.id);
      const mode = await readHedgeMode(ctx.tx, ctx.desk.id, ctx.config.autonomousEnabled);
      return settingsView(row, mode, ctx.config.autonomousEnabled);
    }),

  update: deskProcedure
    .meta({ scope: 'admin', permission: 'hedging.manage' })
    .input(updateHedgingSettingsInput)
    .output(hedgingSettingsView)
    .mutation(async ({ ctx, input }) => {
      if (input.targets) await assertTargets(ctx.tx, input.targets);
      const mode = await readHedgeMode(ctx.tx, ctx.desk.id, ctx.config.autonomousEnabled);
      const before = settingsView(
        await readHedgeSettings(ctx.tx, ctx.desk.id),
        mode,
        ctx.config.autonomousEnabled,
      );
      const row = await upsertHedgeSettings(
        ctx.tx,
        ctx.desk.id,
        { enabled: input.enabled, targets: input.targets },
        ctx.principal.user.id,
        new Date(),
      );
      const after = settingsView(row, mode, ctx.config.autonomousEnabled);
      await recordAudit(ctx.tx, {
        action: 'hedging.update',
        actor: actorOf(ctx.principal),
        targetType: 'desk',
        targetId: ctx.desk.id,
        requestId: ctx.requestId,
        payload: {
          before: { enabled: before.enabled, targets: before.targets },
          after: { enabled: after.enabled, targets: after.targets },
        },
        details: `hedging ${after.enabled ? 'on' : 'off'}: ${
          after.targets.map((t) => `${t.underlying} ±${t.band} via ${t.hedgeSymbol}`).join(', ') ||
          'no targets'
        }`,
      });
      return after;
    }),

  actions: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({ limit: z.number().int().min(1).max(200).default(50) }).default({ limit: 50 }))
    .output(z.array(hedgeActionView))
    .query(({ ctx, input }) => listActions(ctx.tx, ctx.desk.id, input.limit)),
});
