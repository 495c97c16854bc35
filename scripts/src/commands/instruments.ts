import { CliError, ExitCode } from '../../lib/cli-errors.ts';
import type { AegisClient } from '../../lib/client.ts';
import { type CommandGroup, optString, optStrings } from '../../lib/command.ts';
import type { Column } from '../../lib/output.ts';

type Hit = Awaited<ReturnType<AegisClient['instruments']['search']['query']>>[number];
type Instrument = Awaited<ReturnType<AegisClient['instruments']['get']['query']>>;

const hitColumns: Column<Hit>[] = [
  { header: 'symbol', value: (h) => h.symbol },
  { header: 'venue', value: (h) => h.venue },
  { header: 'venue symbol', value: (h) => h.venueSymbol },
  { header: 'name', value: (h) => h.name, maxWidth: 40 },
  { header: 'class', value: (h) => h.assetClass },
  { header: 'status', value: (h) => h.status },
  { header: 'match', value: (h) => h.match },
];

const show = (i: Instrument) => ({
  symbol: i.symbol,
  venue: `${i.venue} (${i.venueSymbol})`,
  name: i.name,
  class: i.assetClass,
  currency: i.currency,
  'tick size': i.tickSize,
  'lot size': i.lotSize,
  multiplier: i.multiplier,
  calendar: i.calendar,
  status: i.status,
  source: i.source,
  updated: i.updatedAt,
});

/**
 * `aegis instruments`: search and show the instrument registry; platform admins load a venue's
 * published list (docs/instruments.md). An unknown symbol comes back with the server's
 * suggestions in its message.
 */
export const instrumentCommands: CommandGroup = {
  name: 'instruments',
  summary: 'search and show instruments; load a venue list (platform admins)',
  commands: {
    search: {
      summary: 'exact, prefix and fuzzy matches on symbol, venue symbol and name',
      usage: '<text> [--venue COINBASE] [--limit 20]',
      positionals: ['text'],
      options: { venue: { type: 'string' }, limit: { type: 'string' } },
      async run(ctx, { values, positionals }) {
        const limit = Number(optString(values, 'limit') ?? 20);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100)
          throw new CliError('--limit must be 1..100');
        const venue = optString(values, 'venue');
        const hits = await ctx
          .client()
          .instruments.search.query({ query: positionals[0] ?? '', limit, ...(venue && { venue }) });
        ctx.out.table(hits, hitColumns, hits);
        return ExitCode.OK;
      },
    },
    show: {
      summary: 'one instrument',
      usage: '<symbol>',
      positionals: ['symbol'],
      async run(ctx, { positionals }) {
        const symbol = positionals[0];
        if (!symbol) throw new CliError('instruments show: <symbol> is required', ExitCode.USAGE);
        const i = await ctx.client().instruments.get.query({ symbol });
        ctx.out.record(show(i), i);
        return ExitCode.OK;
      },
    },
    load: {
      summary: "load or refresh a venue's instrument list (COINBASE, ALPACA, a ccxt id such as BINANCE)",
      usage: '<venue> [--only <venue-symbol>]...',
      positionals: ['venue'],
      options: { only: { type: 'string', multiple: true } },
      async run(ctx, { values, positionals }) {
        const venue = positionals[0];
        if (!venue) throw new CliError('instruments load: <venue> is required', ExitCode.USAGE);
        const only = optStrings(values, 'only');
        const r = await ctx
          .client()
          .instruments.load.mutate({ venue, ...(only.length > 0 && { venueSymbols: only }) });
        ctx.out.record(
          {
            venue: r.venue,
            listed: r.listed,
            new: r.inserted,
            updated: r.updated,
            unchanged: r.unchanged,
            'kept (admin edits)': r.keptAdmin,
            conflicts: r.conflicts,
            delisted: r.delisted,
            skipped: Object.entries(r.skipped)
              .map(([k, n]) => `${k} ${n}`)
              .join(', '),
          },
          r,
        );
        return ExitCode.OK;
      },
    },
  },
};
