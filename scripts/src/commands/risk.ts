import type { AppRouter } from '@aegis/server/router';
import { INT_LIMIT_FIELDS, LIMIT_FIELDS, type LimitField } from '@aegis/shared/risk/limits';
import type { inferRouterOutputs } from '@trpc/server';
import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import { type CommandContext, type CommandGroup, optString } from '../../lib/command.ts';
import { withPersonSession } from '../../lib/person-session.ts';

type Scope = inferRouterOutputs<AppRouter>['risk']['limits']['get'][number];

/** `--max-order-qty` ↔ `maxOrderQty`: one option per limit, named as in the API. */
const kebab = (f: string) => f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const INT_FIELDS = new Set<LimitField>(INT_LIMIT_FIELDS);
const limitOptions = Object.fromEntries(LIMIT_FIELDS.map((f) => [kebab(f), { type: 'string' as const }]));

function printScopes(ctx: CommandContext, scopes: readonly Scope[]) {
  const rows = scopes.flatMap((s) =>
    Object.entries(s.fields).map(([field, e]) => ({
      scope: s.symbol === '*' ? 'desk' : s.symbol,
      field,
      value: e.value === null ? 'no limit' : e.value,
      source: e.removal ? `removed ${e.removal.at}` : e.source,
    })),
  );
  ctx.out.table(
    rows,
    [
      { header: 'scope', value: (r) => r.scope },
      { header: 'limit', value: (r) => r.field },
      { header: 'value', value: (r) => r.value, align: 'right' },
      { header: 'source', value: (r) => r.source },
    ],
    scopes,
  );
}

function parseValue(field: LimitField, raw: string): string | number | boolean {
  if (!INT_FIELDS.has(field)) return raw;
  if (!/^\d+$/.test(raw)) throw new CliError(`risk limits set: --${kebab(field)} must be a whole number`);
  return Number(raw);
}

/**
 * `aegis risk limits get|set|remove|reset`: the desk's effective risk limits with where each comes
 * from (platform default, desk, instrument override, removed). Reading works with an API key;
 * changing needs a person (`--email`, password prompt) with a fresh re-authentication, as in the
 * console. `set` merges: only the limits given change.
 */
export const riskCommands: CommandGroup = {
  name: 'risk',
  summary: 'risk limits: effective values and their source; set, remove, reset (as a person)',
  commands: {
    limits: {
      summary:
        'get: effective limits (API key). set: merge values; remove: no limit; reset: back to the inherited value (need --email)',
      usage:
        '<get|set|remove|reset> [--symbol S] [--email you@desk] [--desk ID] [--max-order-qty N …] [--field name]',
      positionals: ['action'],
      options: {
        symbol: { type: 'string' },
        email: { type: 'string' },
        desk: { type: 'string' },
        field: { type: 'string' },
        restricted: { type: 'string' },
        ...limitOptions,
      },
      async run(ctx, { values, positionals }) {
        const action = positionals[0];
        const symbol = optString(values, 'symbol');
        const who = { email: optString(values, 'email'), desk: optString(values, 'desk') };
        if (action === 'get') {
          printScopes(ctx, await ctx.client().risk.limits.get.query(symbol ? { symbol } : undefined));
          return ExitCode.OK;
        }
        if (action === 'set') {
          const input: Record<string, unknown> = { symbol: symbol ?? '*' };
          for (const f of LIMIT_FIELDS) {
            const raw = optString(values, kebab(f));
            if (raw !== undefined) input[f] = parseValue(f, raw);
          }
          const restricted = optString(values, 'restricted');
          if (restricted !== undefined) {
            if (restricted !== 'true' && restricted !== 'false')
              throw new CliError('risk limits set: --restricted must be true or false');
            input.restricted = restricted === 'true';
          }
          if (Object.keys(input).length === 1) {
            throw new CliError(
              `risk limits set: give at least one limit (${LIMIT_FIELDS.map((f) => `--${kebab(f)}`).join(', ')})`,
            );
          }
          const scope = await withPersonSession(ctx, 'risk limits set', who, (s) =>
            s.risk.limits.set.mutate(input as never),
          );
          printScopes(ctx, [scope]);
          return ExitCode.OK;
        }
        if (action === 'remove' || action === 'reset') {
          const field = optString(values, 'field');
          if (field !== undefined && !(LIMIT_FIELDS as readonly string[]).includes(field)) {
            throw new CliError(`risk limits ${action}: --field must be one of ${LIMIT_FIELDS.join(', ')}`);
          }
          if (action === 'remove' && field === undefined)
            throw new CliError('risk limits remove: --field is required');
          const scope = await withPersonSession(ctx, `risk limits ${action}`, who, (s) =>
            action === 'remove'
              ? s.risk.limits.remove.mutate({ symbol: symbol ?? '*', field: field as LimitField })
              : s.risk.limits.reset.mutate({
                  symbol: symbol ?? '*',
                  ...(field ? { field: field as LimitField } : {}),
                }),
          );
          printScopes(ctx, [scope]);
          return ExitCode.OK;
        }
        throw new CliError(`risk limits: unknown action '${action}' (expected get, set, remove or reset)`);
      },
    },
  },
};
