import { dec, decStr } from '@aegis/shared/accounting/decimal';
import { optionPreferences } from '@aegis/shared/db';
import type { TenantId, UserId } from '@aegis/shared/ids';
import type { RiskPreset } from '@aegis/shared/schemas/option-recommendation';
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';

/**
 * A person's recommender settings on a desk (capital and preset). Called inside a tenant
 * transaction, so RLS keeps other desks' rows out; every query also filters by the user, so
 * another member of the desk neither sees nor changes them.
 */
export interface PreferenceOwner {
  readonly tenantId: TenantId;
  readonly userId: UserId;
}

export interface OptionPreferences {
  /** Decimal string; null: never saved. */
  readonly capital: string | null;
  readonly preset: RiskPreset;
}

export const DEFAULT_PREFERENCES: OptionPreferences = Object.freeze({ capital: null, preset: 'balanced' });

const mine = (o: PreferenceOwner) =>
  and(eq(optionPreferences.tenantId, o.tenantId), eq(optionPreferences.userId, o.userId));

// numeric(38,12) comes back padded ('100000.000000000000'): the edges carry the plain decimal.
const plain = (v: string | null) => (v === null ? null : decStr(dec(v)));

export async function readPreferences(tx: Tx, o: PreferenceOwner): Promise<OptionPreferences> {
  const [row] = await tx
    .select({ capital: optionPreferences.capital, preset: optionPreferences.preset })
    .from(optionPreferences)
    .where(mine(o));
  return row ? { capital: plain(row.capital), preset: row.preset } : DEFAULT_PREFERENCES;
}

/** Merges the given fields into the saved ones (an absent field keeps its value). */
export async function savePreferences(
  tx: Tx,
  o: PreferenceOwner,
  input: { readonly capital?: string | undefined; readonly preset?: RiskPreset | undefined },
): Promise<OptionPreferences> {
  const set: { capital?: string; preset?: RiskPreset; updatedAt: ReturnType<typeof sql> } = {
    updatedAt: sql`now()`,
  };
  if (input.capital !== undefined) set.capital = input.capital;
  if (input.preset !== undefined) set.preset = input.preset;
  const [row] = await tx
    .insert(optionPreferences)
    .values({
      tenantId: o.tenantId,
      userId: o.userId,
      capital: input.capital ?? null,
      preset: input.preset ?? DEFAULT_PREFERENCES.preset,
    })
    .onConflictDoUpdate({ target: [optionPreferences.tenantId, optionPreferences.userId], set })
    .returning({ capital: optionPreferences.capital, preset: optionPreferences.preset });
  if (!row) return readPreferences(tx, o);
  return { capital: plain(row.capital), preset: row.preset };
}
