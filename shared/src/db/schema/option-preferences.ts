import { pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { decimal, updatedAt } from './columns.ts';
import { deskTenantId, ownerUserId } from './identity.ts';

/**
 * The option recommender's saved settings per person and desk (migration 0019): the capital
 * recommendations are sized against and the last risk preset. Under RLS by desk; the service
 * filters by user as well.
 */
export const optionPreferences = pgTable(
  'option_preferences',
  {
    tenantId: deskTenantId(),
    userId: ownerUserId(),
    /** Null: never saved. */
    capital: decimal('capital'),
    preset: text('preset', { enum: ['conservative', 'balanced', 'aggressive'] })
      .notNull()
      .default('balanced'),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] })],
);
