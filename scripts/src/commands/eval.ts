import { ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optBool, optString } from '../../lib/command.ts';

type Model = Awaited<ReturnType<AegisClient['models']['quality']['query']>>['items'][number];
type Row = NonNullable<Model['evaluation']>['rows'][number];

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);
const num = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined ? '-' : x.toFixed(digits);

/**
 * `aegis eval signals`: the model registry's latest evaluation per model version, as the harness
 * (`npm run eval:signals`) stored it — the engine's signals beside a momentum rule, a
 * mean-reversion rule and random signals holding the same count, on the same data.
 */
export const evalCommands: CommandGroup = {
  name: 'eval',
  summary: 'signal quality of the model versions against the baselines',
  commands: {
    signals: {
      summary:
        'per model version: precision by location and direction, recall, forward return, hit rate and AUC of the engine vs momentum, mean reversion and random (--patterns: per pattern too)',
      usage: '[--model <version>] [--patterns] [--limit 5]',
      options: { model: { type: 'string' }, patterns: { type: 'boolean' }, limit: { type: 'string' } },
      async run(ctx, { values }) {
        const client = ctx.client();
        const version = optString(values, 'model');
        const limit = Number(optString(values, 'limit') ?? 5);
        const models = version
          ? [await client.models.get.query({ version })]
          : (
              await client.models.quality.query({
                limit: Number.isInteger(limit) && limit >= 1 ? Math.min(limit, 50) : 5,
              })
            ).items;
        if (ctx.out.json) {
          ctx.out.data(models);
          return ExitCode.OK;
        }
        if (models.length === 0 || models.every((m) => !m.evaluation)) {
          ctx.out.note('no evaluated model yet (run `npm run eval:signals` where the registry is written)');
          return ExitCode.OK;
        }
        const perPattern = optBool(values, 'patterns');
        for (const m of models) {
          const e = m.evaluation;
          if (!e) continue;
          const horizon = String(e.horizonsTicks[0]);
          process.stdout.write(
            `model ${m.version}${m.active ? ' (active)' : ''} — ${e.split} split, seeds ${e.seeds.join(',')}, ` +
              `${e.symbols} symbols, ${e.ticks.toLocaleString('en-US')} ticks, ${e.events} events; ` +
              `target ${e.target.met ? 'met' : 'NOT met'}\n`,
          );
          const rows = e.rows.filter((r) => perPattern || r.pattern === 'all');
          ctx.out.table<Row>(rows, [
            { header: 'source', value: (r) => r.source },
            { header: 'pattern', value: (r) => r.pattern },
            { header: 'signals', value: (r) => r.signals, align: 'right' },
            { header: 'prec loc', value: (r) => pct(r.precisionLocation), align: 'right' },
            { header: 'prec dir', value: (r) => pct(r.precisionDirection), align: 'right' },
            { header: 'recall', value: (r) => pct(r.recall), align: 'right' },
            {
              header: `fwd bp @${horizon}`,
              value: (r) => num(r.forwardReturnBp[horizon], 2),
              align: 'right',
            },
            { header: 'hit rate', value: (r) => pct(r.hitRate), align: 'right' },
            { header: 'auc', value: (r) => num(r.auc), align: 'right' },
          ]);
          for (const c of e.target.checks) {
            process.stdout.write(`  ${c.passed ? 'pass' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
          }
          process.stdout.write('\n');
        }
        return ExitCode.OK;
      },
    },
  },
};
