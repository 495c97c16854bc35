import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type ProposalRow = Awaited<ReturnType<AegisClient['proposals']['list']['query']>>['items'][number];

const STATUSES = ['pending', 'approved', 'rejected', 'expired', 'executed', 'failed', 'denied'] as const;

const columns: Column<ProposalRow>[] = [
  { header: 'id', value: (p) => p.id },
  { header: 'created (utc)', value: (p) => p.createdAt },
  { header: 'status', value: (p) => p.status },
  { header: 'trade', value: (p) => `${p.side} ${p.quantity} ${p.instrument}` },
  { header: 'type', value: (p) => (p.limitPrice ? `${p.orderType} @ ${p.limitPrice}` : p.orderType) },
  { header: 'stop', value: (p) => p.stopPrice, align: 'right' },
  { header: 'target', value: (p) => p.targetPrice, align: 'right' },
  { header: 'risk', value: (p) => p.riskScore, align: 'right' },
  { header: 'conf', value: (p) => p.confidence.toFixed(2), align: 'right' },
  { header: 'governor', value: (p) => (p.riskVerdict ? (p.riskVerdict.allowed ? 'pass' : 'deny') : '-') },
  { header: 'by', value: (p) => p.decider },
  { header: 'expires', value: (p) => p.expiresAt },
];

export const proposalCommands: CommandGroup = {
  name: 'proposals',
  summary: "the desk's trade proposals (approve with `aegis approve <id>`)",
  commands: {
    list: {
      summary: 'newest proposals first, optionally by status',
      usage: '[--status pending|approved|rejected|expired|executed|failed|denied] [--limit 50]',
      options: { status: { type: 'string' }, limit: { type: 'string', short: 'n' } },
      async run(ctx, { values }) {
        const status = optString(values, 'status');
        if (status !== undefined && !STATUSES.includes(status as (typeof STATUSES)[number])) {
          throw new CliError(`--status must be one of ${STATUSES.join(', ')}`);
        }
        const limit = Number(optString(values, 'limit') ?? 50);
        if (!Number.isInteger(limit) || limit < 1 || limit > 200)
          throw new CliError('--limit must be 1..200');
        const page = await ctx.client().proposals.list.query({
          limit,
          ...(status ? { status: status as (typeof STATUSES)[number] } : {}),
        });
        ctx.out.table(page.items, columns);
        return ExitCode.OK;
      },
    },
  },
};
