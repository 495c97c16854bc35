import { syntheticSymbolName } from '@aegis/engine/feeds/synthetic';
import type { Sql } from 'postgres';

/**
 * Reference data for the synthetic market the single-machine start runs, so its symbols are
 * tradable instruments (paper broker, risk governor) once a desk lists them in its agent
 * settings. Venue `SIM` marks them as simulated (venue symbol = symbol, source 'seed'); existing
 * rows are left as they are.
 */
export async function registerSyntheticInstruments(sql: Sql, count: number): Promise<number> {
  const symbols = Array.from({ length: count }, (_, i) => syntheticSymbolName(i));
  const rows = await sql<{ symbol: string }[]>`
    insert into instruments (symbol, venue, venue_symbol, asset_class, currency, tick_size, lot_size, calendar, source)
    select s, 'SIM', s, 'crypto', 'USD', 0.01, 0.0001, '24x7', 'seed' from unnest(${symbols}::text[]) as s
    on conflict (symbol) do nothing
    returning symbol`;
  return rows.length;
}
