import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import { type CommandGroup, optString } from '../../lib/command.ts';

/**
 * The server's own entry point for the bootstrap (server/src/provisioning/admin-main.ts), run as a
 * child process: it needs the server's services and the database driver, which this CLI never
 * loads (they belong to the server, and took over a second to load).
 */
const ADMIN_MAIN = fileURLToPath(import.meta.resolve('@aegis/server/provisioning/admin-main'));

const KNOWN_EXITS: readonly number[] = [ExitCode.FAILURE, ExitCode.USAGE, ExitCode.REJECTED];

/** The bootstrap's answer: one JSON line on stdout. */
const createdSchema = z.object({ email: z.string(), password: z.string(), deskId: z.string() });

function parseCreated(stdout: string) {
  try {
    return createdSchema.parse(JSON.parse(stdout.trim().split('\n').at(-1) ?? ''));
  } catch {
    throw new CliError('admin create: unexpected answer from the bootstrap', ExitCode.FAILURE);
  }
}

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
        const args = [
          ADMIN_MAIN,
          ...(email !== undefined ? ['--email', email] : []),
          ...(displayName !== undefined ? ['--name', displayName] : []),
        ];
        // Only the database URL crosses: the child validates the rest and answers one JSON line
        // (the one-time password travels over this pipe, never through a log).
        const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(
            process.execPath,
            args,
            { env: { DATABASE_OWNER_URL: url }, signal: ctx.interrupted, timeout: 120_000 },
            (err, stdout, stderr) => {
              const code = err ? (typeof err.code === 'number' ? err.code : ExitCode.FAILURE) : 0;
              resolve({ code, stdout: String(stdout), stderr: String(stderr) });
            },
          );
        });
        if (run.code !== 0) {
          const line = run.stderr.trim().split('\n').at(-1) || 'admin create: the bootstrap failed';
          const code = KNOWN_EXITS.includes(run.code) ? (run.code as ExitCode) : ExitCode.FAILURE;
          throw new CliError(line, code);
        }
        const created = parseCreated(run.stdout);
        ctx.out.record(
          { email: created.email, 'one-time password': created.password, 'desk id': created.deskId },
          created,
        );
        ctx.out.note('Sign in with this password and change it; it is shown only once and was not logged.');
        return ExitCode.OK;
      },
    },
  },
};
