import { CliError, ExitCode } from './cli-errors.ts';
import { type AegisClient, createAegisClient } from './client.ts';
import type { CommandContext } from './command.ts';

/**
 * Runs `fn` as a person, not an API key: for procedures the server reserves for people with a
 * recent re-authentication (risk limits, approvals). Signs in with the password (read without
 * echo, or from stdin when piped), switches desk when asked, re-authenticates with the same
 * password, runs, and signs out: the session lives only for this command.
 */
export async function withPersonSession<T>(
  ctx: CommandContext,
  command: string,
  who: { email: string | undefined; desk: string | undefined },
  fn: (session: AegisClient) => Promise<T>,
): Promise<T> {
  if (!who.email) throw new CliError(`${command}: --email is required (this needs a person, not an API key)`);
  const password = await ctx.readSecret(`Password for ${who.email}: `);
  const anon = createAegisClient({ url: ctx.config.url, timeoutMs: ctx.config.timeoutMs });
  const login = await anon.auth.login.mutate({ email: who.email, password, returnToken: true });
  if (!login.token) throw new CliError(`${command}: the server returned no session token`, ExitCode.FAILURE);
  if (login.user.mustChangePassword) {
    throw new CliError(
      `${command}: change your one-time password first (sign in to the console)`,
      ExitCode.DENIED,
    );
  }
  const session = createAegisClient({
    url: ctx.config.url,
    apiKey: login.token,
    timeoutMs: ctx.config.timeoutMs,
  });
  try {
    if (who.desk) await session.auth.switchDesk.mutate({ deskId: who.desk });
    await session.auth.reauthenticate.mutate({ password });
    return await fn(session);
  } finally {
    await session.auth.logout.mutate().catch(() => {});
  }
}
