import { CliError } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type DeskRow = Awaited<ReturnType<AegisClient['desks']['list']['query']>>[number];

const columns: Column<DeskRow>[] = [
  { header: 'id', value: (d) => d.id },
  { header: 'slug', value: (d) => d.slug },
  { header: 'name', value: (d) => d.name, maxWidth: 40 },
  { header: 'your role', value: (d) => d.role },
];

export const deskCommands: CommandGroup = {
  name: 'desks',
  summary: 'create desks (platform admins) and list your desks',
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
      summary: 'list the desks you have a role on',
      async run(ctx) {
        ctx.out.table(await ctx.client().desks.list.query(), columns);
        return undefined;
      },
    },
  },
};
