import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';

const UNDEFINED_TABLE = '42P01';

export const adminCommands: CommandGroup = {
  name: 'admin',
  summary: 'bootstrap: create the first platform administrator directly in the database',
  commands: {
    create: {
      summary:
        'create the first platform admin and the default desk (needs DATABASE_OWNER_URL or DATABASE_URL; no server, no key)',
      usage: '[--email <email>] [--name <display name>]',
      options: { email: { type: 'string' }, name: { type: 'string' } },
      async run(ctx, { values }) {
        const url = ctx.config.databaseUrl;
        if (!url)
          throw new CliError(
            'admin create: set DATABASE_OWNER_URL (or DATABASE_URL) to the database',
            ExitCode.USAGE,
          );
        const email = optString(values, 'email');
        const displayName = optString(values, 'name');
        if (email !== undefined && !/^[^\s@]{1,64}@[^\s@]{1,189}$/.test(email)) {
          throw new CliError('admin create: --email must be an email address');
        }
        if (displayName !== undefined && (displayName.length === 0 || displayName.length > 100)) {
          throw new CliError('admin create: --name must be 1 to 100 characters');
        }
        // The server's services and the database driver take over a second to load; only this
        // command needs them, so they load here rather than on every `aegis` start.
        const [{ audit }, { createFirstAdminIfNone }, { createDb }] = await Promise.all([
          import('@aegis/server/audit/service'),
          import('@aegis/server/provisioning/service'),
          import('@aegis/shared/db/client'),
        ]);
        const handle = createDb(url, { max: 2, applicationName: 'aegis-cli' });
        try {
          const created = await createFirstAdminIfNone(handle.db, {
            ...(email ? { email } : {}),
            ...(displayName ? { displayName } : {}),
          }).catch((err: unknown) => {
            const code = ((err as { cause?: { code?: string } }).cause ?? (err as { code?: string })).code;
            if (code === UNDEFINED_TABLE)
              throw new CliError(
                'admin create: the database is not migrated (run `npm run db:migrate`)',
                ExitCode.FAILURE,
              );
            throw err;
          });
          if (!created) {
            throw new CliError(
              'admin create: the platform already has users; an administrator creates the others (`aegis users create`)',
              ExitCode.REJECTED,
            );
          }
          // Platform chain: bootstrap happens outside any request, so the actor is the system.
          await audit.record(handle.db, {
            tenantId: null,
            action: 'users.bootstrap_admin',
            actor: { type: 'system', id: 'aegis-cli' },
            targetType: 'user',
            targetId: created.email,
            details: 'first platform administrator created from the command line',
            payload: { email: created.email, deskId: created.deskId },
          });
          ctx.out.record(
            { email: created.email, 'one-time password': created.password, 'desk id': created.deskId },
            created,
          );
          ctx.out.note('Sign in with this password and change it; it is shown only once and was not logged.');
          return ExitCode.OK;
        } finally {
          await handle.close();
        }
      },
    },
  },
};
