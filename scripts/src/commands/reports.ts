import { writeFileSync } from 'node:fs';
import { EXPORT_KINDS } from '@aegis/shared/schemas/reports';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';
import { money } from '../../lib/output.ts';

type Range = { from?: string; to?: string; symbol?: string };
const rangeOf = (values: Parameters<typeof optString>[0]): Range => {
  const r: Range = {};
  const from = optString(values, 'from');
  const to = optString(values, 'to');
  const symbol = optString(values, 'symbol');
  if (from) r.from = from;
  if (to) r.to = to;
  if (symbol) r.symbol = symbol;
  return r;
};
const rangeOptions = {
  from: { type: 'string' },
  to: { type: 'string' },
  symbol: { type: 'string' },
} as const;

export const reportCommands: CommandGroup = {
  name: 'reports',
  summary: 'P&L by instrument and by day, the trade blotter, CSV exports',
  commands: {
    pnl: {
      summary: 'P&L per instrument (realized, unrealized at the live mark, fees, net)',
      async run(ctx) {
        const rows = await ctx.client().reports.pnlByInstrument.query();
        ctx.out.table(rows, [
          { header: 'symbol', value: (r) => r.symbol },
          { header: 'qty', value: (r) => r.quantity, align: 'right' },
          { header: 'avg cost', value: (r) => r.avgCost, align: 'right' },
          { header: 'mark', value: (r) => r.mark, align: 'right' },
          { header: 'realized', value: (r) => money(r.realizedPnl), align: 'right' },
          { header: 'unrealized', value: (r) => money(r.unrealizedPnl), align: 'right' },
          { header: 'fees', value: (r) => money(r.fees), align: 'right' },
          { header: 'net', value: (r) => money(r.netPnl), align: 'right' },
        ]);
        return ExitCode.OK;
      },
    },
    days: {
      summary: "P&L per trading day (the desk's timezone): realized, fees, fills, equity close and change",
      usage: '[--from iso] [--to iso] [--symbol s]',
      options: rangeOptions,
      async run(ctx, { values }) {
        const rows = await ctx.client().reports.pnlByDay.query(rangeOf(values));
        ctx.out.table(rows, [
          { header: 'day', value: (r) => r.day },
          { header: 'realized', value: (r) => money(r.realizedPnl), align: 'right' },
          { header: 'fees', value: (r) => money(r.fees), align: 'right' },
          { header: 'net realized', value: (r) => money(r.netRealized), align: 'right' },
          { header: 'fills', value: (r) => String(r.fills), align: 'right' },
          { header: 'notional', value: (r) => money(r.notional), align: 'right' },
          { header: 'equity close', value: (r) => money(r.equityClose), align: 'right' },
          { header: 'change', value: (r) => money(r.equityChange), align: 'right' },
        ]);
        return ExitCode.OK;
      },
    },
    blotter: {
      summary: 'every fill with its order, newest first',
      usage: '[--from iso] [--to iso] [--symbol s] [-n limit]',
      options: { ...rangeOptions, limit: { type: 'string', short: 'n' } },
      async run(ctx, { values }) {
        const limit = Number(optString(values, 'limit') ?? 200);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          throw new CliError('--limit must be 1 to 1000');
        const rows = await ctx.client().reports.blotter.query({ range: rangeOf(values), limit });
        ctx.out.table(rows, [
          { header: 'time (utc)', value: (r) => r.ts },
          { header: 'symbol', value: (r) => r.symbol },
          { header: 'side', value: (r) => r.side },
          { header: 'qty', value: (r) => r.quantity, align: 'right' },
          { header: 'price', value: (r) => r.price, align: 'right' },
          { header: 'notional', value: (r) => money(r.notional), align: 'right' },
          { header: 'fee', value: (r) => r.fee, align: 'right' },
          { header: 'origin', value: (r) => r.origin },
          { header: 'account', value: (r) => r.account },
          { header: 'order', value: (r) => r.clientOrderId },
        ]);
        return ExitCode.OK;
      },
    },
    export: {
      summary: `a CSV export (${EXPORT_KINDS.join(', ')}) to --out or standard output`,
      usage: `<${EXPORT_KINDS.join('|')}> [--from iso] [--to iso] [--symbol s] [--out file.csv]`,
      positionals: ['kind'],
      options: { ...rangeOptions, out: { type: 'string', short: 'o' } },
      async run(ctx, { values, positionals }) {
        const kind = positionals[0] as (typeof EXPORT_KINDS)[number];
        if (!EXPORT_KINDS.includes(kind))
          throw new CliError(
            `reports export: kind must be one of ${EXPORT_KINDS.join(', ')}`,
            ExitCode.USAGE,
          );
        const file = await ctx.client().reports.export.query({ kind, range: rangeOf(values) });
        const out = optString(values, 'out');
        if (out) {
          writeFileSync(out, file.csv);
          ctx.warn(
            `wrote ${file.rows} rows to ${out}${file.truncated ? ' (truncated: narrow the range)' : ''}`,
          );
        } else process.stdout.write(file.csv);
        return ExitCode.OK;
      },
    },
  },
};
