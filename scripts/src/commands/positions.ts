import { ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import type { CommandGroup } from '../../lib/command.ts';
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
  },
};
