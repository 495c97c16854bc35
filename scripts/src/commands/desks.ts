import { CliError } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optBool, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type DeskRow = Awaited<ReturnType<AegisClient['desks']['list']['query']>>[number];

const columns: Column<DeskRow>[] = [
  { header: 'id', value: (d) => d.id },
  { header: 'slug', value: (d) => d.slug },
  { header: 'name', value: (d) => d.name, maxWidth: 40 },
  { header: 'your role', value: (d) => d.role ?? '-' },
];

const allColumns: Column<DeskRow>[] = [...columns, { header: 'created', value: (d) => d.createdAt ?? null }];

export const deskCommands: CommandGroup = {
  name: 'desks',
  summary: 'create desks (platform admins) and list your desks (every desk: --all, platform admins)',
  commands: {
    create: {
      summary: 'create a desk; you become its admin',
      usage: '--name <desk name>',
      options: { name: { type: 'string' } },
      async run(ctx, { values }) {
        const name = optString(values, 'name');
        if (!name) throw new CliError('desks create: --name is required');
        const desk = await ctx.client().desks.create.mutate({ name });
        ctx.out.record({ id: desk.id, slug: desk.slug, name: desk.name, 'your role': desk.role }, desk);
        return undefined;
      },
    },
    list: {
      summary: 'list the desks you have a role on; --all: every desk (platform admins)',
      usage: '[--all]',
      options: { all: { type: 'boolean' } },
      async run(ctx, { values }) {
        if (optBool(values, 'all')) {
          ctx.out.table(await ctx.client().desks.list.query({ all: true }), allColumns);
        } else ctx.out.table(await ctx.client().desks.list.query(), columns);
        return undefined;
      },
    },
  },
};
