import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type LessonRow = Awaited<ReturnType<AegisClient['lessons']['query']['query']>>[number];

const columns: Column<LessonRow>[] = [
  { header: 'similarity', value: (l) => (l.similarity ?? 0).toFixed(3), align: 'right' },
  { header: 'kind', value: (l) => l.kind },
  { header: 'pnl', value: (l) => l.pnl, align: 'right' },
  { header: 'instrument', value: (l) => l.instrument },
  { header: 'tags', value: (l) => l.tags.join(','), maxWidth: 40 },
  { header: 'summary', value: (l) => l.summary, maxWidth: 80 },
  { header: 'id', value: (l) => l.id },
];

export const lessonCommands: CommandGroup = {
  name: 'lessons',
  summary: "the desk's lessons from past trades",
  commands: {
    query: {
      summary: 'the k lessons most similar to a text',
      usage: '"<text>" [--k 5] [--instrument BTC-USD]',
      positionals: ['text'],
      options: { k: { type: 'string' }, instrument: { type: 'string' } },
      async run(ctx, { values, positionals }) {
        const text = positionals[0]?.trim();
        if (!text) throw new CliError('lessons query: a text is required');
        const k = Number(optString(values, 'k') ?? 5);
        if (!Number.isInteger(k) || k < 1 || k > 50) throw new CliError('--k must be 1..50');
        const instrument = optString(values, 'instrument');
        const rows = await ctx
          .client()
          .lessons.query.query({ text, k, ...(instrument ? { instrument } : {}) });
        ctx.out.table(rows, columns);
        return ExitCode.OK;
      },
    },
  },
};
