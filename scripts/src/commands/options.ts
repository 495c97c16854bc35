import type { RecommendationEvent } from '@aegis/shared/schemas/option-recommendation';
import { directionalView, recommendStrategy, riskPreset } from '@aegis/shared/schemas/option-recommendation';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandContext, type CommandGroup, optBool, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type Layer = Extract<RecommendationEvent, { type: 'layer' }>['layer'];
type Result = Extract<RecommendationEvent, { type: 'result' }>;
type Chain = Awaited<ReturnType<AegisClient['marketData']['chain']['query']>>;
type Contract = Chain['contracts'][number];

const choice = <T extends string>(
  name: string,
  allowed: readonly T[],
  value: string | undefined,
  fallback?: T,
): T => {
  const v = value ?? fallback;
  if (v === undefined) throw new CliError(`--${name} is required (${allowed.join(' | ')})`, ExitCode.USAGE);
  if (!(allowed as readonly string[]).includes(v)) {
    throw new CliError(`--${name} must be one of ${allowed.join(', ')}`, ExitCode.USAGE);
  }
  return v as T;
};

function printLayer(ctx: CommandContext, l: Layer): void {
  ctx.out.note(`\n== ${l.title}: ${l.summary}`);
  const width = Math.max(0, ...l.rows.map((r) => r.label.length));
  for (const r of l.rows)
    ctx.out.note(`  ${r.label.padEnd(width)}  ${r.value}${r.note ? `   (${r.note})` : ''}`);
}

function printResult(ctx: CommandContext, r: Result): void {
  if (!r.recommendation) {
    ctx.out.note(`\n== No recommendation: ${r.reason ?? 'none fits'}`);
    return;
  }
  const x = r.recommendation;
  ctx.out.note(
    `\n== Recommendation: ${x.strategy} × ${x.quantity} ${x.allowed ? '(allowed)' : '(DENIED by the governor)'}`,
  );
  for (const l of x.legs) {
    ctx.out.note(
      `  ${l.side.padEnd(4)} ${l.ratio} ${l.symbol}  at ${l.price ?? '-'}  Δ ${l.delta?.toFixed(3) ?? '-'}`,
    );
  }
  ctx.out.note(
    `  net ${x.netPrice} per unit; max loss ${x.maxLoss}; max gain ${x.maxGain ?? 'unbounded'}; breakeven ${x.breakevens.join(', ') || '-'}; net delta ${x.netDelta.toFixed(2)}`,
  );
}

const chainColumns: Column<Contract>[] = [
  { header: 'symbol', value: (c) => c.symbol },
  { header: 'dte', value: (c) => c.dte.toFixed(1) },
  { header: 'bid', value: (c) => c.bid },
  { header: 'ask', value: (c) => c.ask },
  { header: 'iv', value: (c) => (c.iv === null ? null : `${(c.iv * 100).toFixed(1)}%`) },
  { header: 'delta', value: (c) => c.greeks?.delta.toFixed(3) ?? null },
  { header: 'liq', value: (c) => c.liquidity },
  { header: 'oi', value: (c) => c.openInterest },
];

/**
 * `aegis options`: a recommendation streamed layer by layer (docs/option-recommendations.md),
 * the presets, and an underlying's chain. With --json the events are printed as JSON, one
 * array at the end.
 */
export const optionCommands: CommandGroup = {
  name: 'options',
  summary: 'option recommendations (layers streamed), presets and chains',
  commands: {
    recommend: {
      summary: 'contract(s) and quantity for a view, sized by a risk preset; layers print as they arrive',
      usage:
        '<symbol> --view bullish|bearish|neutral [--preset balanced] [--capital 100000] [--strategy auto|single|vertical|delta_hedge] [--no-save]',
      positionals: ['symbol'],
      options: {
        view: { type: 'string' },
        preset: { type: 'string' },
        capital: { type: 'string' },
        strategy: { type: 'string' },
        'no-save': { type: 'boolean' },
      },
      async run(ctx, { values, positionals }) {
        const symbol = positionals[0];
        if (!symbol) throw new CliError('options recommend: <symbol> is required', ExitCode.USAGE);
        const view = choice('view', directionalView.options, optString(values, 'view'));
        const preset = choice('preset', riskPreset.options, optString(values, 'preset'), 'balanced');
        const strategy = choice('strategy', recommendStrategy.options, optString(values, 'strategy'), 'auto');
        const capital = optString(values, 'capital');
        const events: RecommendationEvent[] = [];
        const client = ctx.client();
        await new Promise<void>((resolve, reject) => {
          const sub = client.options.recommend.subscribe(
            {
              symbol,
              view,
              preset,
              strategy,
              save: !optBool(values, 'no-save'),
              ...(capital ? { capital } : {}),
            },
            {
              onData(e) {
                events.push(e);
                if (e.type === 'layer') printLayer(ctx, e.layer);
                else {
                  printResult(ctx, e);
                  sub.unsubscribe();
                  resolve();
                }
              },
              onError(err) {
                sub.unsubscribe();
                reject(err);
              },
              onComplete() {
                resolve();
              },
            },
          );
          ctx.interrupted.addEventListener(
            'abort',
            () => {
              sub.unsubscribe();
              resolve();
            },
            { once: true },
          );
        });
        if (ctx.out.json) ctx.out.data(events);
        const last = events.at(-1);
        return last?.type === 'result' && last.recommendation ? ExitCode.OK : ExitCode.FAILURE;
      },
    },
    presets: {
      summary: "each risk preset's target delta, expiry window, maximum loss and filters",
      async run(ctx) {
        const presets = await ctx.client().options.presets.query({});
        ctx.out.table(
          presets,
          [
            { header: 'preset', value: (p) => p.preset },
            { header: '|delta|', value: (p) => p.targetDelta },
            { header: 'days', value: (p) => `${p.minDte}-${p.maxDte}` },
            { header: 'max loss', value: (p) => `${(p.maxLossShare * 100).toFixed(1)}%` },
            { header: 'min liq', value: (p) => p.filters.minLiquidity },
            { header: 'max spread', value: (p) => `${p.filters.maxSpreadPct}%` },
          ],
          presets,
        );
        return ExitCode.OK;
      },
    },
    chain: {
      summary: "an underlying's option chain with IV, delta and liquidity",
      usage: '<symbol> [--expiry YYYY-MM-DD]',
      positionals: ['symbol'],
      options: { expiry: { type: 'string' } },
      async run(ctx, { values, positionals }) {
        const symbol = positionals[0];
        if (!symbol) throw new CliError('options chain: <symbol> is required', ExitCode.USAGE);
        const expiry = optString(values, 'expiry');
        const chain = await ctx.client().marketData.chain.query({ symbol, ...(expiry ? { expiry } : {}) });
        ctx.out.note(
          `${chain.underlying} at ${chain.underlyingPrice ?? '-'}; ATM IV ${chain.atmIv === null ? '-' : `${(chain.atmIv * 100).toFixed(1)}%`}; expiries ${chain.expiries.join(', ')}`,
        );
        ctx.out.table(chain.contracts, chainColumns, chain);
        return ExitCode.OK;
      },
    },
  },
};
