import { instruments } from '@aegis/shared/db';
import { AppError } from '@aegis/shared/errors';
import { instrumentSymbolFor, isNativeVenue } from '@aegis/shared/market/instrument-symbols';
import type {
  AssetClass,
  InstrumentSearchHit,
  InstrumentUpsertInput,
  InstrumentView,
} from '@aegis/shared/schemas/market-data';
import ccxt from 'ccxt';
import { and, asc, eq, gt, inArray, type SQL } from 'drizzle-orm';
import Fuse from 'fuse.js';
import { type AuditActor, audit } from '../audit/service.ts';
import type { Db, Queryable } from '../db/database.ts';

/**
 * The instrument registry (docs/instruments.md): reference data every desk shares (no tenant_id,
 * no RLS). Reads go through a short-lived in-process snapshot of the whole table, refreshed after
 * every change made through this process and at most `ttlMs` old otherwise, so a change made by
 * another server process shows within that time; a symbol the snapshot lacks is looked up in the
 * database before it is refused, so a refusal is never caused by a stale snapshot.
 *
 * Search ranks exact matches (symbol or venue symbol), then prefixes (symbol, venue symbol, name),
 * then fuzzy matches (fuse.js: Bitap, tolerant of transpositions and one-off typos). Every
 * procedure that takes a symbol calls `require`/`requireAll`, which refuse an unknown one with
 * the closest matches named.
 */
type Row = typeof instruments.$inferSelect;

export interface SearchQuery {
  readonly query: string;
  readonly venue?: string | undefined;
  readonly assetClass?: AssetClass | undefined;
  readonly limit?: number | undefined;
}

interface Snapshot {
  readonly at: number;
  readonly rows: readonly InstrumentView[];
  readonly bySymbol: ReadonlyMap<string, InstrumentView>;
  fuse: Fuse<InstrumentView> | null;
}

/** Venues whose feeds map venue symbols with instrumentSymbolFor (native adapters, ccxt ids). */
export function hasSymbolMapping(venue: string): boolean {
  return isNativeVenue(venue) || ccxt.exchanges.includes(venue.toLowerCase());
}

export function toInstrumentView(r: Row): InstrumentView {
  return {
    symbol: r.symbol,
    venue: r.venue,
    venueSymbol: r.venueSymbol,
    name: r.name,
    assetClass: r.assetClass,
    currency: r.currency,
    tickSize: trimDecimal(r.tickSize),
    lotSize: trimDecimal(r.lotSize),
    multiplier: trimDecimal(r.multiplier),
    calendar: r.calendar,
    status: r.status,
    source: r.source,
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** numeric(38,12) comes back as `0.010000000000`: shown as `0.01`. */
export function trimDecimal(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export interface UnknownInstrument {
  readonly symbol: string;
  readonly suggestions: readonly string[];
}

/** `unknown instrument BTC-USDX — did you mean BTC-USD, BTC-USDT?` */
export function describeUnknown(u: UnknownInstrument): string {
  const hint = u.suggestions.length > 0 ? ` — did you mean ${u.suggestions.join(', ')}?` : '';
  return `unknown instrument ${u.symbol}${hint}`;
}

export class InstrumentRegistry {
  readonly #db: Db;
  readonly #ttlMs: number;
  #snapshot: Snapshot | null = null;
  #loading: Promise<Snapshot> | null = null;

  constructor(db: Db, opts: { ttlMs?: number } = {}) {
    this.#db = db;
    this.#ttlMs = opts.ttlMs ?? 5_000;
  }

  /** Drops the snapshot: the next read loads the table again. */
  invalidate(): void {
    this.#snapshot = null;
  }

  async #current(opts: { staleOk?: boolean } = {}): Promise<Snapshot> {
    const s = this.#snapshot;
    if (s && Date.now() - s.at < this.#ttlMs) return s;
    // One load at a time: concurrent readers share it.
    this.#loading ??= this.#load().finally(() => {
      this.#loading = null;
    });
    // A lookup by symbol takes the expired snapshot while the reload runs (a miss asks the
    // table anyway): a caller holding a pooled connection (a desk procedure's request
    // transaction) must not wait on a load that needs another connection of the same pool, or a
    // full pool deadlocks under load until idle_in_transaction_session_timeout.
    if (s && opts.staleOk) {
      this.#loading.catch(() => {});
      return s;
    }
    return this.#loading;
  }

  async #load(): Promise<Snapshot> {
    const rows = (await this.#db.select().from(instruments).orderBy(asc(instruments.symbol))).map(
      toInstrumentView,
    );
    const snap: Snapshot = {
      at: Date.now(),
      rows,
      bySymbol: new Map(rows.map((r) => [r.symbol, r])),
      fuse: null,
    };
    this.#snapshot = snap;
    return snap;
  }

  async get(symbol: string): Promise<InstrumentView | null> {
    const hit = (await this.#current({ staleOk: true })).bySymbol.get(symbol);
    if (hit) return hit;
    // Not in the snapshot: maybe added since (another process, a fixture). Ask the table.
    const [row] = await this.#db.select().from(instruments).where(eq(instruments.symbol, symbol)).limit(1);
    if (!row) return null;
    this.invalidate();
    return toInstrumentView(row);
  }

  async search(q: SearchQuery): Promise<InstrumentSearchHit[]> {
    const snap = await this.#current();
    const limit = q.limit ?? 20;
    const inScope = (r: InstrumentView) =>
      (!q.venue || r.venue === q.venue) && (!q.assetClass || r.assetClass === q.assetClass);
    const text = q.query.trim().toUpperCase();
    if (text === '')
      return snap.rows
        .filter(inScope)
        .slice(0, limit)
        .map((r) => ({ ...r, score: 0, match: 'prefix' as const }));

    const hits = new Map<string, InstrumentSearchHit>();
    for (const r of snap.rows) {
      if (!inScope(r)) continue;
      const sym = r.symbol.toUpperCase();
      const vsym = r.venueSymbol.toUpperCase();
      if (sym === text || vsym === text) {
        hits.set(r.symbol, { ...r, score: 1, match: 'exact' });
        continue;
      }
      // Prefix: the closer the query is to the whole field, the higher (0.5, 1).
      const fields = [sym, vsym, (r.name ?? '').toUpperCase()];
      let best = 0;
      for (const f of fields) {
        if (f.startsWith(text)) best = Math.max(best, 0.5 + (0.49 * text.length) / f.length);
        // A name's later word counts too ("Apple" finds "The Apple Company"), a little lower.
        else if (f === fields[2] && f.includes(` ${text}`))
          best = Math.max(best, 0.5 + (0.3 * text.length) / f.length);
      }
      if (best > 0) hits.set(r.symbol, { ...r, score: round(best), match: 'prefix' });
    }
    if (hits.size < limit) {
      snap.fuse ??= new Fuse(snap.rows as InstrumentView[], {
        keys: [
          { name: 'symbol', weight: 3 },
          { name: 'venueSymbol', weight: 2 },
          { name: 'name', weight: 1 },
        ],
        includeScore: true,
        ignoreLocation: true,
        threshold: 0.4,
      });
      for (const f of snap.fuse.search(q.query.trim(), { limit: limit * 4 + 20 })) {
        if (hits.has(f.item.symbol) || !inScope(f.item)) continue;
        // Fuse: 0 perfect … 1 nothing in common. Fuzzy stays below every prefix match (≤ 0.5).
        hits.set(f.item.symbol, { ...f.item, score: round(0.5 * (1 - (f.score ?? 1))), match: 'fuzzy' });
      }
    }
    return [...hits.values()]
      .sort((a, b) => b.score - a.score || a.symbol.length - b.symbol.length || cmp(a.symbol, b.symbol))
      .slice(0, limit);
  }

  /** The `n` closest known symbols to one that is not known. */
  async suggest(symbol: string, n = 3): Promise<string[]> {
    return (await this.search({ query: symbol, limit: n })).map((h) => h.symbol);
  }

  /** The unknown ones among `symbols`, each with its suggestions (none: all known). */
  async unknownOf(symbols: readonly string[]): Promise<UnknownInstrument[]> {
    const snap = await this.#current();
    const missing = [...new Set(symbols)].filter((s) => !snap.bySymbol.has(s));
    if (missing.length === 0) return [];
    const found = await this.#db
      .select({ symbol: instruments.symbol })
      .from(instruments)
      .where(inArray(instruments.symbol, missing));
    if (found.length > 0) this.invalidate();
    const known = new Set(found.map((f) => f.symbol));
    const out: UnknownInstrument[] = [];
    for (const s of missing) if (!known.has(s)) out.push({ symbol: s, suggestions: await this.suggest(s) });
    return out;
  }

  /**
   * Refuses an unknown symbol: BAD_INPUT naming `field`, the message and `details.suggestions`
   * carrying the closest known symbols.
   */
  async require(symbol: string, field = 'symbol'): Promise<InstrumentView> {
    const view = await this.get(symbol);
    if (view) return view;
    const suggestions = await this.suggest(symbol);
    throw new AppError('BAD_INPUT', `${field}: ${describeUnknown({ symbol, suggestions })}`, {
      field,
      reason: 'unknown_instrument',
      unknown: [{ symbol, suggestions }],
    });
  }

  /** Refuses a list holding any unknown symbol, naming every one of them. */
  async requireAll(symbols: readonly string[], field = 'symbols'): Promise<void> {
    const unknown = await this.unknownOf(symbols);
    if (unknown.length === 0) return;
    throw new AppError('BAD_INPUT', `${field}: ${unknown.map(describeUnknown).join('; ')}`, {
      field,
      reason: 'unknown_instrument',
      unknown,
    });
  }

  /** A page of the registry in symbol order (keyset cursor: the last symbol of the page). */
  async list(
    db: Queryable,
    q: { venue?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ items: InstrumentView[]; nextCursor: string | null }> {
    const where: SQL[] = [];
    if (q.venue) where.push(eq(instruments.venue, q.venue));
    if (q.cursor) where.push(gt(instruments.symbol, q.cursor));
    const rows = await db
      .select()
      .from(instruments)
      .where(where.length ? and(...where) : undefined)
      .orderBy(asc(instruments.symbol))
      .limit(q.limit + 1);
    const items = rows.slice(0, q.limit).map(toInstrumentView);
    return { items, nextCursor: rows.length > q.limit ? items[items.length - 1]!.symbol : null };
  }

  /**
   * An admin's create or edit (merge by symbol), audited on the platform chain in the same
   * transaction. The row becomes `source: 'admin'`, which later venue loads leave alone.
   */
  async upsert(
    input: InstrumentUpsertInput,
    actor: AuditActor,
    meta: AuditMeta = {},
  ): Promise<InstrumentView> {
    const venueSymbol = input.venueSymbol ?? venueSymbolDefault(input.venue, input.symbol);
    // Venues with a feed find their instruments by this mapping: a mismatch would be an
    // instrument no tick ever reaches.
    if (hasSymbolMapping(input.venue) && instrumentSymbolFor(input.venue, venueSymbol) !== input.symbol)
      throw new AppError(
        'BAD_INPUT',
        `symbol: on ${input.venue} the venue symbol ${venueSymbol} is the instrument ${instrumentSymbolFor(input.venue, venueSymbol)}`,
        { field: 'symbol' },
      );
    const values = {
      venue: input.venue,
      venueSymbol,
      name: input.name ?? null,
      assetClass: input.assetClass,
      currency: input.currency,
      tickSize: input.tickSize,
      lotSize: input.lotSize,
      multiplier: input.multiplier,
      calendar: input.calendar,
      status: input.status,
      source: 'admin' as const,
      updatedAt: new Date(),
    };
    const row = await this.#db.transaction(async (tx) => {
      const [clash] = await tx
        .select({ symbol: instruments.symbol })
        .from(instruments)
        .where(and(eq(instruments.venue, input.venue), eq(instruments.venueSymbol, venueSymbol)));
      if (clash && clash.symbol !== input.symbol)
        throw new AppError(
          'CONFLICT',
          `venueSymbol: ${input.venue} ${venueSymbol} is already ${clash.symbol}`,
          {
            field: 'venueSymbol',
          },
        );
      const [before] = await tx.select().from(instruments).where(eq(instruments.symbol, input.symbol));
      const [saved] = await tx
        .insert(instruments)
        .values({ symbol: input.symbol, ...values })
        .onConflictDoUpdate({ target: instruments.symbol, set: values })
        .returning();
      await audit.record(tx, {
        action: before ? 'instruments.update' : 'instruments.create',
        actor,
        tenantId: null,
        ...meta,
        targetType: 'instrument',
        targetId: saved!.id,
        payload: { ...input, venueSymbol, ...(before && { before: toInstrumentView(before) }) },
        details: `${input.symbol} on ${input.venue}`,
      });
      return saved!;
    });
    this.invalidate();
    return toInstrumentView(row);
  }

  /** Halts, resumes or delists an instrument (admin), audited; the row becomes admin-edited. */
  async setStatus(
    symbol: string,
    status: InstrumentView['status'],
    actor: AuditActor,
    meta: AuditMeta = {},
  ): Promise<InstrumentView> {
    const row = await this.#db.transaction(async (tx) => {
      const [before] = await tx.select().from(instruments).where(eq(instruments.symbol, symbol));
      if (!before) await this.require(symbol);
      const [saved] = await tx
        .update(instruments)
        .set({ status, source: 'admin', updatedAt: new Date() })
        .where(eq(instruments.symbol, symbol))
        .returning();
      await audit.record(tx, {
        action: 'instruments.setStatus',
        actor,
        tenantId: null,
        ...meta,
        targetType: 'instrument',
        targetId: saved!.id,
        payload: { symbol, from: before!.status, to: status },
        details: `${symbol} ${before!.status} → ${status}`,
      });
      return saved!;
    });
    this.invalidate();
    return toInstrumentView(row);
  }
}

export interface AuditMeta {
  readonly requestId?: string | null;
  readonly ip?: string | null;
}

/** The venue symbol an admin's row gets when none is given: the mapping's, or the symbol. */
function venueSymbolDefault(venue: string, symbol: string): string {
  const prefix = `${venue}:`;
  return !isNativeVenue(venue) && symbol.startsWith(prefix) ? symbol.slice(prefix.length) : symbol;
}

const round = (n: number) => Math.round(n * 1e4) / 1e4;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One registry per database handle (so per server process and per test server). */
const registries = new WeakMap<Db, InstrumentRegistry>();
export function instrumentRegistryOf(db: Db): InstrumentRegistry {
  let r = registries.get(db);
  if (!r) {
    r = new InstrumentRegistry(db);
    registries.set(db, r);
  }
  return r;
}
