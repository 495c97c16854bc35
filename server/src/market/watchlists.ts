import { watchlists } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import type { TenantId, UserId } from '@aegis/shared/ids';
import type { WatchlistView } from '@aegis/shared/schemas/market-data';
import { and, asc, eq } from 'drizzle-orm';
import type { Tx } from '../db/database.ts';
import type { InstrumentRegistry } from './instrument-registry.ts';

/**
 * A person's watchlists on a desk (docs/instruments.md). Called inside the request's tenant
 * transaction, so RLS keeps every other desk's rows out; each query also filters by the caller's
 * user id, so another member of the same desk neither sees nor changes them (their ids answer
 * NOT_FOUND, as another desk's do). Symbols are checked against the registry on every write.
 */
export interface Owner {
  readonly tenantId: TenantId;
  readonly userId: UserId;
}

type Row = typeof watchlists.$inferSelect;
const toView = (r: Row): WatchlistView => ({
  id: r.id,
  name: r.name,
  symbols: r.symbols,
  updatedAt: r.updatedAt.toISOString(),
});

const MAX_LISTS = 50;

const notFound = () => new AppError('NOT_FOUND', 'id: no such watchlist', { field: 'id' });
const dedupe = (symbols: readonly string[]) => [...new Set(symbols)];

function nameTaken(e: unknown): boolean {
  let c: unknown = e;
  for (let i = 0; c && i < 4; i++, c = (c as { cause?: unknown }).cause) {
    const err = c as { code?: string; constraint_name?: string };
    if (err.code === '23505' && err.constraint_name === 'watchlists_owner_name_key') return true;
  }
  return false;
}

const mine = (o: Owner, id?: string) =>
  and(
    eq(watchlists.tenantId, o.tenantId),
    eq(watchlists.userId, o.userId),
    ...(id ? [eq(watchlists.id, id)] : []),
  );

export async function listWatchlists(tx: Tx, o: Owner): Promise<WatchlistView[]> {
  return (await tx.select().from(watchlists).where(mine(o)).orderBy(asc(watchlists.name))).map(toView);
}

export async function createWatchlist(
  tx: Tx,
  registry: InstrumentRegistry,
  o: Owner,
  input: { name: string; symbols: readonly string[] },
): Promise<WatchlistView> {
  await registry.requireAll(input.symbols, 'symbols');
  const lists = await tx.select({ id: watchlists.id }).from(watchlists).where(mine(o));
  if (lists.length >= MAX_LISTS)
    throw new AppError('PRECONDITION_FAILED', `name: at most ${MAX_LISTS} watchlists per person`, {
      field: 'name',
    });
  return savedUnderName(tx, input.name, (sp) =>
    sp
      .insert(watchlists)
      .values({ tenantId: o.tenantId, userId: o.userId, name: input.name, symbols: dedupe(input.symbols) })
      .returning(),
  );
}

/**
 * Writes a list in a savepoint, so a name clash does not abort the request transaction it runs
 * in; the clash is a CONFLICT on `name`.
 */
async function savedUnderName(
  tx: Tx,
  name: string | undefined,
  write: (sp: Tx) => Promise<(typeof watchlists.$inferSelect)[]>,
): Promise<WatchlistView> {
  try {
    const [row] = await tx.transaction(write);
    return toView(row!);
  } catch (e) {
    if (nameTaken(e))
      throw new AppError('CONFLICT', `name: you already have a watchlist named ${name}`, {
        field: 'name',
      });
    throw e;
  }
}

export async function updateWatchlist(
  tx: Tx,
  registry: InstrumentRegistry,
  o: Owner,
  input: { id: string; name?: string | undefined; symbols?: readonly string[] | undefined },
): Promise<WatchlistView> {
  const [existing] = await tx.select({ id: watchlists.id }).from(watchlists).where(mine(o, input.id));
  if (!existing) throw notFound();
  if (input.symbols) await registry.requireAll(input.symbols, 'symbols');
  return savedUnderName(tx, input.name, (sp) =>
    sp
      .update(watchlists)
      .set({
        ...(input.name !== undefined && { name: input.name }),
        ...(input.symbols && { symbols: dedupe(input.symbols) }),
        updatedAt: new Date(),
      })
      .where(mine(o, input.id))
      .returning(),
  );
}

export async function removeWatchlist(tx: Tx, o: Owner, id: string): Promise<{ removed: true }> {
  const gone = await tx.delete(watchlists).where(mine(o, id)).returning({ id: watchlists.id });
  if (gone.length === 0) throw notFound();
  return { removed: true };
}
