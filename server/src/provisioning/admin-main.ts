import { parseArgs } from 'node:util';
import { createDb } from '@aegis/shared/db/client';
import { AppError, ErrorCode, isAppError } from '@aegis/shared/errors';
import { z } from 'zod';
import { audit } from '../audit/service.ts';
import { createFirstAdminIfNone } from './service.ts';

/**
 * The first platform administrator, created directly in the database, before any server runs or
 * any key exists: `aegis admin create` runs this file as its own process (`npm run admin:create`
 * runs it too), so the CLI loads none of the server's code.
 *
 * Reads DATABASE_OWNER_URL (else DATABASE_URL) and `--email`, `--name`. On success one JSON line
 * on stdout, `{ email, password, deskId }`: the one-time password goes to whoever started this
 * process and is never logged. On failure one line on stderr and the CLI's exit codes: 2 usage,
 * 5 the platform already has users, 1 anything else.
 */

const EXIT = { FAILURE: 1, USAGE: 2, REJECTED: 5 } as const;
const UNDEFINED_TABLE = '42P01';

/**
 * Refusals are AppErrors, not a class of this file: the exit code follows from the AppError code
 * (BAD_INPUT usage, CONFLICT the platform already has users, anything else a failure), so the
 * service's own AppErrors exit the same way as the refusals raised here.
 */
const EXIT_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_INPUT]: EXIT.USAGE,
  [ErrorCode.CONFLICT]: EXIT.REJECTED,
};
const exitCodeOf = (err: unknown): number => (isAppError(err) && EXIT_BY_CODE[err.code]) || EXIT.FAILURE;

const inputSchema = z.object({
  databaseUrl: z.string().min(1, 'set DATABASE_OWNER_URL (or DATABASE_URL) to the database'),
  email: z
    .string()
    .regex(/^[^\s@]{1,64}@[^\s@]{1,189}$/, '--email must be an email address')
    .optional(),
  displayName: z
    .string()
    .min(1, '--name must be 1 to 100 characters')
    .max(100, '--name must be 1 to 100 characters')
    .optional(),
});
type AdminCreateInput = z.output<typeof inputSchema>;

/** The command line and environment of this entry point, validated. */
function adminCreateInput(argv: readonly string[], env: Record<string, string | undefined>) {
  let values: { email?: string | undefined; name?: string | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { email: { type: 'string' }, name: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    throw new AppError(ErrorCode.BAD_INPUT, (err as Error).message);
  }
  const parsed = inputSchema.safeParse({
    databaseUrl: env.DATABASE_OWNER_URL || env.DATABASE_URL || '',
    email: values.email,
    displayName: values.name,
  });
  if (!parsed.success)
    throw new AppError(ErrorCode.BAD_INPUT, parsed.error.issues[0]?.message ?? 'invalid input');
  return parsed.data;
}

/** Creates the first platform admin and the default desk, and audits it; refuses when users exist. */
async function createFirstAdmin(
  input: AdminCreateInput,
): Promise<{ email: string; password: string; deskId: string }> {
  const handle = createDb(input.databaseUrl, { max: 2, applicationName: 'aegis-admin-create' });
  try {
    const created = await createFirstAdminIfNone(handle.db, {
      ...(input.email ? { email: input.email } : {}),
      ...(input.displayName ? { displayName: input.displayName } : {}),
    }).catch((err: unknown) => {
      const code = ((err as { cause?: { code?: string } }).cause ?? (err as { code?: string })).code;
      if (code === UNDEFINED_TABLE)
        throw new AppError(
          ErrorCode.PRECONDITION_FAILED,
          'the database is not migrated (run `npm run db:migrate`)',
        );
      throw err;
    });
    if (!created) {
      throw new AppError(
        ErrorCode.CONFLICT,
        'the platform already has users; an administrator creates the others (`aegis users create`)',
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
    return created;
  } finally {
    await handle.close();
  }
}

try {
  const created = await createFirstAdmin(adminCreateInput(process.argv.slice(2), process.env));
  process.stdout.write(`${JSON.stringify(created)}\n`);
} catch (err) {
  // One line, no stack: the message names what to do; anything unexpected keeps its message only.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`admin create: ${message.replace(/\s+/g, ' ').trim()}\n`);
  process.exitCode = exitCodeOf(err);
}
