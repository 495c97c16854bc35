import { type DeskGreeksView, deskGreeksView } from '@aegis/shared/schemas/greeks';
import { z } from 'zod';
import type { Context } from '../context.ts';
import { withTenant } from '../db/database.ts';
import { positionUpdatesChannel } from '../execution/types.ts';
import { type GreeksOptions, loadDeskGreeks } from '../hedging/desk-greeks.ts';
import { createTRPCRouter, deskProcedure } from '../trpc.ts';
import { executionOf } from './execution-context.ts';

/** A price move republishes the view at most this often (position changes go out at once). */
const PRICE_THROTTLE_MS = 1_000;

/** The option-pricing settings (OPTIONS_RISK_FREE_RATE, OPTIONS_DIVIDEND_YIELD). */
const greeksOptionsOf = (ctx: Pick<Context, 'config'>): GreeksOptions => ({
  rate: ctx.config.options.riskFreeRate,
  dividendYield: ctx.config.options.dividendYield,
});

/** The view without its timestamp: what a subscriber would see change. */
const fingerprint = (v: DeskGreeksView) => JSON.stringify({ ...v, asOf: '' });

/** The desk's live Greeks: net delta, gamma, vega, theta and each position's contribution. */
export const greeksRouter = createTRPCRouter({
  current: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).default({}))
    .output(deskGreeksView)
    .query(async ({ ctx }) => {
      const ex = executionOf(ctx);
      const loaded = await loadDeskGreeks(ctx.tx, ctx.desk.id, ex.quotes, new Date(), greeksOptionsOf(ctx));
      return loaded.view;
    }),

  /**
   * Live (SSE): the current view first, then a new one when the desk's positions change (every
   * fill publishes on the desk's positions channel) or, at most once a second, when a price the
   * view depends on moved and the view changed. Only the caller's desk: its channel, its rows.
   */
  updates: deskProcedure
    .meta({ scope: 'read', permission: 'desk.read' })
    .input(z.strictObject({}).default({}))
    .subscription(async function* ({ ctx, signal }): AsyncGenerator<DeskGreeksView> {
      const ex = executionOf(ctx);
      const tenantId = ctx.desk.id;
      const options = greeksOptionsOf(ctx);
      let positionsChanged = false;
      let pricesChanged = false;
      let watching: ReadonlySet<string> = new Set();
      let wake: (() => void) | null = null;
      const poke = () => {
        const w = wake;
        wake = null;
        w?.();
      };
      const unsubscribePositions = await ctx.bus.subscribe(positionUpdatesChannel(tenantId), () => {
        positionsChanged = true;
        poke();
      });
      const unsubscribeQuotes = ex.quotes.subscribe((e) => {
        if (!watching.has(e.symbol)) return;
        pricesChanged = true;
        poke();
      });
      const onAbort = () => poke();
      signal?.addEventListener('abort', onAbort, { once: true });
      const sleep = (ms: number) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          signal?.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
      const read = async () => {
        const loaded = await withTenant(ctx.db, tenantId, (tx) =>
          loadDeskGreeks(tx, tenantId, ex.quotes, new Date(), options),
        );
        watching = loaded.priceSymbols;
        return loaded.view;
      };
      try {
        let last = await read();
        let lastAt = Date.now();
        yield last;
        while (!signal?.aborted) {
          if (!positionsChanged && !pricesChanged) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            continue;
          }
          if (!positionsChanged) {
            // Prices only: throttled, so a busy market costs one read per second per subscriber.
            const wait = lastAt + PRICE_THROTTLE_MS - Date.now();
            if (wait > 0) await sleep(wait);
            if (signal?.aborted) break;
          }
          positionsChanged = false;
          pricesChanged = false;
          const next = await read();
          lastAt = Date.now();
          if (fingerprint(next) === fingerprint(last)) continue;
          last = next;
          yield next;
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        unsubscribeQuotes();
        await unsubscribePositions().catch(() => {});
      }
    }),
});
