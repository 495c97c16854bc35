import { CliError } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optString, optStrings } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type ApiKeyRow = Awaited<ReturnType<AegisClient['keys']['list']['query']>>[number];

const SCOPES = ['read', 'trade', 'admin'] as const;
type Scope = (typeof SCOPES)[number];

const columns: Column<ApiKeyRow>[] = [
  { header: 'id', value: (k) => k.id },
  { header: 'name', value: (k) => k.name, maxWidth: 32 },
  { header: 'prefix', value: (k) => k.prefix },
  { header: 'scopes', value: (k) => k.scopes },
  { header: 'created', value: (k) => k.createdAt },
  { header: 'expires', value: (k) => k.expiresAt },
  { header: 'last used', value: (k) => k.lastUsedAt },
  { header: 'status', value: (k) => status(k) },
];

function status(k: ApiKeyRow): string {
  if (k.revokedAt) return 'revoked';
  if (k.expiresAt && Date.parse(k.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}

/** `30d` or `30` → 30 (days until expiry; the server counts whole days). */
function parseExpiryDays(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d{1,4})d?$/.exec(raw);
  const days = m ? Number(m[1]) : Number.NaN;
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new CliError('--expires must be a number of days from 1 to 3650 (e.g. 30d)');
  }
  return days;
}

export const keyCommands: CommandGroup = {
  name: 'keys',
  summary: 'create, list and revoke API keys for scripts',
  commands: {
    create: {
      summary: 'create an API key on your desk; the key is shown once',
      usage: '--name <name> --scope read|trade|admin [--scope …] [--expires 30d]',
      options: {
        name: { type: 'string' },
        scope: { type: 'string', multiple: true },
        expires: { type: 'string' },
      },
      async run(ctx, { values }) {
        const name = optString(values, 'name');
        if (!name) throw new CliError('keys create: --name is required');
        const scopes = optStrings(values, 'scope');
        if (scopes.length === 0)
          throw new CliError('keys create: at least one --scope is required (read, trade, admin)');
        const bad = scopes.find((s) => !SCOPES.includes(s as Scope));
        if (bad) throw new CliError(`keys create: unknown scope '${bad}' (read, trade, admin)`);
        const expiresInDays = parseExpiryDays(optString(values, 'expires'));
        const created = await ctx.client().keys.create.mutate({
          name,
          scopes: [...new Set(scopes)] as Scope[],
          ...(expiresInDays ? { expiresInDays } : {}),
        });
        ctx.out.record(
          {
            id: created.apiKey.id,
            name: created.apiKey.name,
            scopes: created.apiKey.scopes,
            expires: created.apiKey.expiresAt,
            key: created.key,
          },
          created,
        );
        ctx.out.note('Store the key now: it is shown only once. Use it as AEGIS_API_KEY.');
        return undefined;
      },
    },
    list: {
      summary: 'list API keys (yours; desk admins see all of the desk)',
      async run(ctx) {
        ctx.out.table(await ctx.client().keys.list.query(), columns);
        return undefined;
      },
    },
    revoke: {
      summary: 'revoke an API key by id; it stops working immediately',
      usage: '<key-id>',
      positionals: ['key-id'],
      async run(ctx, { positionals }) {
        const id = positionals[0]!;
        const revoked = await ctx.client().keys.revoke.mutate({ keyId: id });
        ctx.out.record({ id: revoked.id, prefix: revoked.prefix, 'revoked at': revoked.revokedAt }, revoked);
        return undefined;
      },
    },
  },
};
