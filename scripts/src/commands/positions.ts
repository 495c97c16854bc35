import { randomUUID } from 'node:crypto';
import { idempotencyKey as idempotencyKeySchema } from '@aegis/shared/schemas/order';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optString, optStrings } from '../../lib/command.ts';
import { type Column, money } from '../../lib/output.ts';

type Position = Awaited<ReturnType<AegisClient['positions']['list']['query']>>[number];

const columns: Column<Position>[] = [
  { header: 'symbol', value: (p) => p.symbol },
  { header: 'qty', value: (p) => p.quantity, align: 'right' },
  { header: 'avg cost', value: (p) => p.avgCost, align: 'right' },
  { header: 'mark', value: (p) => p.mark, align: 'right' },
  { header: 'value', value: (p) => money(p.marketValue), align: 'right' },
  { header: 'unrealized', value: (p) => money(p.unrealizedPnl), align: 'right' },
  { header: 'realized', value: (p) => money(p.realizedPnl), align: 'right' },
  { header: 'fees', value: (p) => money(p.fees), align: 'right' },
  { header: 'opened (utc)', value: (p) => p.openedAt },
];

export const positionCommands: CommandGroup = {
  name: 'positions',
  summary: "the desk's positions (average cost) and P&L",
  commands: {
    '': {
      summary: 'positions marked to the latest prices, then the desk P&L summary',
      async run(ctx) {
        const client = ctx.client();
        const [rows, pnl] = await Promise.all([client.positions.list.query(), client.pnl.summary.query()]);
        if (ctx.out.json) {
          ctx.out.data({ positions: rows, pnl });
          return ExitCode.OK;
        }
        ctx.out.table(rows, columns);
        ctx.out.record({
          'realized P&L': money(pnl.realizedPnl),
          'unrealized P&L': money(pnl.unrealizedPnl),
          fees: money(pnl.fees),
          'net P&L': money(pnl.netPnl),
          'today (net)': money(pnl.dailyPnl),
          equity: money(pnl.equity),
          'gross exposure': money(pnl.grossExposure),
          'net exposure': money(pnl.netExposure),
        });
        return ExitCode.OK;
      },
    },
    flatten: {
      summary:
        'cancel working orders and close positions at market (all, or --symbol s, repeatable); works while halted and with a trade key; --key makes a retry safe',
      usage: '[--symbol s]... [--key k]',
      options: { symbol: { type: 'string', multiple: true }, key: { type: 'string' } },
      async run(ctx, { values }) {
        const idempotencyKey = optString(values, 'key') ?? randomUUID();
        if (!idempotencyKeySchema.safeParse(idempotencyKey).success)
          throw new CliError(
            'positions flatten: --key must be 8–128 printable characters without spaces; a UUID is ideal',
            ExitCode.USAGE,
          );
        const symbols = optStrings(values, 'symbol');
        const r = await ctx.client().positions.flatten.mutate({
          idempotencyKey,
          ...(symbols.length > 0 ? { symbols } : {}),
        });
        if (ctx.out.json) {
          ctx.out.data({ ...r, idempotencyKey });
          return ExitCode.OK;
        }
        const rows = [
          ...r.cancelled.map((o) => ({ action: 'cancel', o })),
          ...r.closing.map((o) => ({ action: 'close', o })),
        ];
        ctx.out.table(rows, [
          { header: 'action', value: (x) => x.action },
          { header: 'symbol', value: (x) => x.o.symbol },
          { header: 'side', value: (x) => x.o.side },
          { header: 'qty', value: (x) => x.o.quantity, align: 'right' },
          { header: 'status', value: (x) => x.o.status },
          { header: 'reason', value: (x) => x.o.rejectReason, maxWidth: 40 },
          { header: 'order id', value: (x) => x.o.id },
        ]);
        if (r.unchanged.length > 0) ctx.out.record({ 'already flat or closing': r.unchanged.join(', ') });
        // A closing order the governor denied (no price, say) leaves a position open: say so.
        return r.closing.some((o) => o.status === 'denied') ? ExitCode.REJECTED : ExitCode.OK;
      },
    },
  },
};
