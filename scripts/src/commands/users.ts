import { CliError } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optBool, optString } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type MemberRow = Awaited<ReturnType<AegisClient['users']['list']['query']>>[number];
const ROLES = ['admin', 'trader', 'viewer'] as const;
type Role = (typeof ROLES)[number];

const columns: Column<MemberRow>[] = [
  { header: 'user id', value: (m) => m.userId },
  { header: 'email', value: (m) => m.email, maxWidth: 40 },
  { header: 'name', value: (m) => m.displayName, maxWidth: 32 },
  { header: 'role', value: (m) => m.role },
  { header: 'status', value: (m) => (m.disabled ? 'disabled' : 'active') },
  { header: 'member since', value: (m) => m.createdAt },
];

type FoundRow = Awaited<ReturnType<AegisClient['users']['find']['query']>>[number];

const foundColumns: Column<FoundRow>[] = [
  { header: 'user id', value: (u) => u.userId },
  { header: 'email', value: (u) => u.email, maxWidth: 40 },
  { header: 'name', value: (u) => u.displayName, maxWidth: 32 },
  {
    header: 'desks (role)',
    value: (u) => u.desks.map((d) => `${d.slug} (${d.role})`).join(', ') || '-',
    maxWidth: 60,
  },
  {
    header: 'status',
    value: (u) => `${u.disabled ? 'disabled' : 'active'}${u.isPlatformAdmin ? ', platform admin' : ''}`,
  },
  { header: 'last sign-in', value: (u) => u.lastSignInAt ?? 'never' },
  { header: 'last failed sign-in', value: (u) => u.lastFailedSignInAt ?? '-' },
];

export const userCommands: CommandGroup = {
  name: 'users',
  summary: "create users on your desk and list the desk's members (desk admins)",
  commands: {
    create: {
      summary:
        'create a user with a role on your desk; a one-time password is generated unless --password-stdin',
      usage: '--email <email> --name <display name> --role admin|trader|viewer [--password-stdin]',
      options: {
        email: { type: 'string' },
        name: { type: 'string' },
        role: { type: 'string' },
        'password-stdin': { type: 'boolean' },
      },
      async run(ctx, { values }) {
        const email = optString(values, 'email');
        const displayName = optString(values, 'name');
        const role = optString(values, 'role');
        if (!email) throw new CliError('users create: --email is required');
        if (!displayName) throw new CliError('users create: --name is required');
        if (!role || !ROLES.includes(role as Role))
          throw new CliError('users create: --role must be admin, trader or viewer');
        const initialPassword = optBool(values, 'password-stdin')
          ? await ctx.readSecret('Initial password: ')
          : undefined;
        const created = await ctx.client().users.create.mutate({
          email,
          displayName,
          role: role as Role,
          ...(initialPassword !== undefined ? { initialPassword } : {}),
        });
        ctx.out.record(
          {
            'user id': created.member.userId,
            email: created.member.email,
            role: created.member.role,
            'one-time password': created.oneTimePassword ?? '(the one given on stdin)',
          },
          created,
        );
        ctx.out.note('The user must change the password at first sign-in.');
        return undefined;
      },
    },
    find: {
      summary: 'find users by email (exact or prefix, any case) across every desk (platform admins)',
      usage: '<email or prefix>',
      positionals: ['email'],
      async run(ctx, { positionals }) {
        const email = positionals[0]?.trim();
        if (!email) throw new CliError('users find: an email (or its beginning) is required');
        const found = await ctx.client().users.find.query({ email });
        ctx.out.table(found, foundColumns);
        if (found.length === 0) ctx.warn(`no user with an email starting with "${email}"`);
        return undefined;
      },
    },
    list: {
      summary: "list the desk's members and their roles",
      async run(ctx) {
        ctx.out.table(await ctx.client().users.list.query(), columns);
        return undefined;
      },
    },
  },
};
