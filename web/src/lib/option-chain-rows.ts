import type { ChainContractView } from '@aegis/shared/schemas/option-chain';

/**
 * The chain table's rows: one per strike of one expiry with its call and put, strikes in
 * numeric order (the server's strings "97.5" and "100" do not sort as text), and the
 * at-the-money strike (nearest the underlying).
 */
export type ChainContract = ChainContractView;

/** One strike of one expiry: its call and its put (either may be missing). */
export interface StrikeRow {
  readonly strike: string;
  readonly call: ChainContract | undefined;
  readonly put: ChainContract | undefined;
}

/** The contracts of one expiry, one row per strike, strikes ascending. */
export function strikeRows(contracts: readonly ChainContract[], expiry: string | null): StrikeRow[] {
  const byStrike = new Map<string, { call?: ChainContract; put?: ChainContract }>();
  for (const c of contracts) {
    if (expiry !== null && c.expiry !== expiry) continue;
    const row = byStrike.get(c.strike) ?? {};
    row[c.right] = c;
    byStrike.set(c.strike, row);
  }
  return [...byStrike.entries()]
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([strike, r]) => ({ strike, call: r.call, put: r.put }));
}

/** The strike nearest the underlying price (the at-the-money row). */
export function atmStrike(rows: readonly StrikeRow[], underlying: string | null): string | null {
  const s = underlying === null ? Number.NaN : Number(underlying);
  if (!Number.isFinite(s) || rows.length === 0) return null;
  let best = rows[0]!;
  for (const r of rows) {
    if (Math.abs(Number(r.strike) - s) < Math.abs(Number(best.strike) - s)) best = r;
  }
  return best.strike;
}
