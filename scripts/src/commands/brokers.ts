import { brokerProviderId } from '@aegis/shared/schemas/broker';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import {
  type CommandContext,
  type CommandGroup,
  type OptionValues,
  optBool,
  optString,
} from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';
import { withPersonSession } from '../../lib/person-session.ts';

type Connection = Awaited<ReturnType<AegisClient['brokers']['list']['query']>>[number];

const columns: Column<Connection>[] = [
  { header: 'id', value: (c) => c.id },
  { header: 'provider', value: (c) => c.provider },
  { header: 'label', value: (c) => c.label, maxWidth: 30 },
  { header: 'env', value: (c) => c.environment },
  { header: 'status', value: (c) => c.status },
  { header: 'account', value: (c) => c.account?.accountId ?? c.accountRef },
  { header: 'cash', value: (c) => c.account?.cash, align: 'right' },
  { header: 'buying power', value: (c) => c.account?.buyingPower, align: 'right' },
  { header: 'equity', value: (c) => c.account?.equity, align: 'right' },
  { header: 'last sync (utc)', value: (c) => c.lastSyncAt },
  { header: 'reason', value: (c) => c.statusReason, maxWidth: 40 },
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function connectionId(command: string, raw: string | undefined): string {
  if (!raw || !UUID.test(raw))
    throw new CliError(`${command}: a connection id (from 'aegis brokers list') is required`);
  return raw;
}

const person = { email: { type: 'string' }, desk: { type: 'string' } } as const;

function whoOf(values: OptionValues) {
  return { email: optString(values, 'email'), desk: optString(values, 'desk') };
}

/**
 * Runs `fn` with the API key (AEGIS_API_KEY), or as a person when `--email` is given (password
 * prompt, fresh re-authentication, signed out after): the server keeps linking and unlinking
 * for people; reading and syncing may be open to keys with the right scope.
 */
function asKeyOrPerson<T>(
  ctx: CommandContext,
  command: string,
  values: OptionValues,
  fn: (client: AegisClient) => Promise<T>,
): Promise<T> {
  const who = whoOf(values);
  return who.email ? withPersonSession(ctx, command, who, fn) : fn(ctx.client());
}

function printConnection(ctx: CommandContext, c: Connection): void {
  ctx.out.record(
    {
      id: c.id,
      provider: `${c.providerName} (${c.provider})`,
      label: c.label,
      environment: c.environment,
      status: c.statusReason ? `${c.status}: ${c.statusReason}` : c.status,
      account: c.account?.accountId ?? c.accountRef,
      cash: c.account ? `${c.account.cash} ${c.account.currency}` : null,
      buyingPower: c.account?.buyingPower ?? null,
      equity: c.account?.equity ?? null,
      lastSync: c.lastSyncAt,
    },
    c,
  );
}

/**
 * `aegis brokers list|link|unlink|sync`: the desk's linked broker accounts. Linking goes through
 * the broker's own sign-in (OAuth): the CLI starts it as a person (`--email`, password prompt,
 * re-authentication: the server wants a password re-entered in the last minutes) and prints the
 * authorization URL and its expiry. The server binds the OAuth transaction to the session that
 * started it (a callback on another session is refused as `foreign_state`), so the command says
 * so rather than promising that any browser can finish it.
 */
export const brokerCommands: CommandGroup = {
  name: 'brokers',
  summary: 'linked broker accounts: list, link (OAuth), unlink, sync balances',
  commands: {
    list: {
      summary: "the desk's linked broker accounts with status and balances as last synced",
      usage: '[--email you@desk [--desk <desk-id>]]',
      options: person,
      async run(ctx, { values }) {
        const rows = await asKeyOrPerson(ctx, 'brokers list', values, (c) => c.brokers.list.query());
        ctx.out.table(rows, columns);
        if (rows.length === 0)
          ctx.out.note("No broker accounts linked: orders go to the desk's paper account.");
        return ExitCode.OK;
      },
    },
    link: {
      summary:
        "start an OAuth link as a person (password, re-authentication): prints the broker's authorization URL and when it expires",
      usage: '<provider> --email <you@desk> [--desk <desk-id>] [--live] [--relink <connection-id>]',
      positionals: ['provider'],
      options: { ...person, live: { type: 'boolean' }, relink: { type: 'string' } },
      async run(ctx, { values, positionals }) {
        const parsed = brokerProviderId.safeParse(positionals[0]);
        if (!parsed.success) {
          throw new CliError(
            `brokers link: unknown provider '${positionals[0] ?? ''}' (alpaca, coinbase, ibkr, ccxt:<exchange>, oauth:<slug>)`,
          );
        }
        const relink = optString(values, 'relink');
        const who = whoOf(values);
        if (!who.email) {
          throw new CliError(
            'brokers link: --email is required: linking needs a signed-in person who re-entered the password in the last minutes, never an API key',
          );
        }
        const started = await withPersonSession(ctx, 'brokers link', who, (s) =>
          s.brokers.startLink.mutate({
            provider: parsed.data,
            environment: optBool(values, 'live') ? 'live' : 'paper',
            ...(relink ? { connectionId: connectionId('brokers link --relink', relink) } : {}),
          }),
        );
        ctx.out.record({ authorizationUrl: started.authorizationUrl, expiresAt: started.expiresAt }, started);
        ctx.out.note(
          [
            '',
            `Open the URL above before ${started.expiresAt}. The broker sends the browser back to the console's`,
            '/oauth/callback, and the server completes a link only on the session that started it: this',
            "command's session, which ends as it exits. To link from a browser, use the console's Brokers page",
            "(it asks for the same password); 'aegis brokers list' shows the account once it is linked.",
          ].join('\n'),
        );
        return ExitCode.OK;
      },
    },
    unlink: {
      summary:
        'stop routing to a linked account and delete its credentials (revoked at the broker when it can)',
      usage: '<connection-id> --email <you@desk> [--desk <desk-id>]',
      positionals: ['connection-id'],
      options: person,
      async run(ctx, { values, positionals }) {
        const id = connectionId('brokers unlink', positionals[0]);
        const who = whoOf(values);
        if (!who.email) {
          throw new CliError(
            'brokers unlink: --email is required (unlinking needs a person, not an API key)',
          );
        }
        const res = await withPersonSession(ctx, 'brokers unlink', who, (s) =>
          s.brokers.unlink.mutate({ connectionId: id }),
        );
        ctx.out.record({ unlinked: res.connectionId, revokedAtProvider: res.revokedAtProvider }, res);
        return ExitCode.OK;
      },
    },
    sync: {
      summary: 'read the account balances from the broker now',
      usage: '<connection-id> [--email you@desk [--desk <desk-id>]]',
      positionals: ['connection-id'],
      options: person,
      async run(ctx, { values, positionals }) {
        const id = connectionId('brokers sync', positionals[0]);
        const c = await asKeyOrPerson(ctx, 'brokers sync', values, (client) =>
          client.brokers.sync.mutate({ connectionId: id }),
        );
        printConnection(ctx, c);
        // A sync that found the connection broken is an answer, but not a healthy one.
        return c.status === 'active' ? ExitCode.OK : ExitCode.FAILURE;
      },
    },
  },
};
