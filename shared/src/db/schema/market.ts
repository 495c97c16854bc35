import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  date,
  doublePrecision,
  index,
  jsonb,
  pgTable,
  pgView,
  primaryKey,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, decimal, pkId, tenantId, tstz, updatedAt } from './columns.ts';
import { deskTenantId, ownerUserId } from './identity.ts';

/**
 * Reference data, shared by all desks. Options carry underlying, right, strike and expiry so the
 * options-analytics roadmap adds columns, not tables; `greeks` holds the latest delta/gamma/vega.
 */
export const instruments = pgTable(
  'instruments',
  {
    id: pkId(),
    symbol: text('symbol').notNull().unique(),
    venue: text('venue').notNull(),
    /**
     * The venue's own name for it (shared/src/market/instrument-symbols.ts maps both ways). A
     * trigger (migration 0016) fills it from `symbol` when an insert leaves it out.
     */
    venueSymbol: text('venue_symbol').notNull(),
    name: text('name'),
    assetClass: text('asset_class', { enum: ['equity', 'crypto', 'future', 'option', 'fx'] }).notNull(),
    currency: text('currency').notNull().default('USD'),
    tickSize: decimal('tick_size').notNull(),
    lotSize: decimal('lot_size').notNull(),
    multiplier: decimal('multiplier').notNull().default('1'),
    /** Trading calendar id: `24x7` for crypto, `XNYS` etc. for exchange hours. */
    calendar: text('calendar').notNull().default('24x7'),
    status: text('status', { enum: ['active', 'halted', 'delisted'] })
      .notNull()
      .default('active'),
    underlyingId: uuid('underlying_id'),
    optionRight: text('option_right', { enum: ['call', 'put'] }),
    strike: decimal('strike'),
    expiry: date('expiry'),
    /** Written by the Greeks refresher (server/src/market/option-greeks-refresher.ts): theta per day. */
    greeks: jsonb('greeks').$type<{
      delta?: number;
      gamma?: number;
      vega?: number;
      theta?: number;
      iv?: number;
      asOf?: string;
    }>(),
    /** Who wrote the row last: a venue's product list, an admin's edit, or the SIM seed. */
    source: text('source', { enum: ['venue', 'admin', 'seed'] })
      .notNull()
      .default('seed'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('instruments_underlying_idx').on(t.underlyingId),
    uniqueIndex('instruments_venue_symbol_key').on(t.venue, t.venueSymbol),
    // Prefix search (instrument-registry.ts): text_pattern_ops serves `like 'ABC%'` in any collation.
    index('instruments_symbol_prefix_idx').using('btree', sql`upper(${t.symbol}) text_pattern_ops`),
    index('instruments_venue_symbol_prefix_idx').using(
      'btree',
      sql`upper(${t.venueSymbol}) text_pattern_ops`,
    ),
  ],
);

/**
 * A person's watchlists on a desk: under RLS by desk, and the service filters by `user_id` (a
 * list is its owner's alone). Symbols are a text[] in the order the owner arranged them: a list
 * is small (≤ 200), always read and replaced whole, and the registry validates each symbol on
 * write, so a child table would add joins and no integrity that matters here.
 */
export const watchlists = pgTable(
  'watchlists',
  {
    id: pkId(),
    tenantId: deskTenantId(),
    userId: ownerUserId(),
    name: text('name').notNull(),
    symbols: text('symbols').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('watchlists_owner_name_key').on(t.tenantId, t.userId, t.name)],
);

// ---------------------------------------------------------------------------------------------
// Time series. Hypertables when TimescaleDB is present, native range partitions otherwise (see
// the custom migration). Every unique key includes the time column, as both require.
// ---------------------------------------------------------------------------------------------

/** Market ticks (trades and quotes), written by the engine with COPY. Market data: not per desk. */
export const ticks = pgTable(
  'ticks',
  {
    ts: tstz('ts').notNull(),
    tsIngest: tstz('ts_ingest').notNull(),
    symbol: text('symbol').notNull(),
    /** Feed sequence number of the tick. */
    seq: bigint('seq', { mode: 'number' }).notNull(),
    /** 1 = trade, 2 = quote (engine/src/ring/layout.ts). */
    kind: smallint('kind').notNull(),
    // Market data as the venue printed it, float8 (migration 0021, docs/tick-storage.md): the
    // engine carries it as doubles from intake on. Money elsewhere stays numeric.
    price: doublePrecision('price').notNull(),
    size: doublePrecision('size').notNull(),
    bid: doublePrecision('bid'),
    ask: doublePrecision('ask'),
    bidSize: doublePrecision('bid_size'),
    askSize: doublePrecision('ask_size'),
    /** +1 buyer-initiated, -1 seller-initiated, 0 unknown. */
    aggressor: smallint('aggressor').notNull().default(0),
  },
  // The tick's identity (migration 0007): refuses the same tick twice; serves (symbol, ts) reads.
  (t) => [uniqueIndex('ticks_identity_idx').on(t.symbol, t.ts, t.seq)],
);

/** Normalized order-flow snapshots ingested by a desk (trades, top of book, depth deltas). */
export const orderflowEvents = pgTable(
  'orderflow_events',
  {
    id: uuid('id').notNull().defaultRandom(),
    tenantId: tenantId(),
    ts: tstz('ts').notNull(),
    tsIngest: tstz('ts_ingest').notNull().defaultNow(),
    source: text('source').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    venue: text('venue').notNull(),
    symbol: text('symbol').notNull(),
    kind: text('kind', { enum: ['trade', 'quote', 'depth'] }).notNull(),
    side: text('side', { enum: ['buy', 'sell'] }),
    price: decimal('price'),
    size: decimal('size'),
    bid: decimal('bid'),
    ask: decimal('ask'),
    bidSize: decimal('bid_size'),
    askSize: decimal('ask_size'),
    levels: jsonb('levels'),
    contentHash: text('content_hash').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.ts] }),
    uniqueIndex('orderflow_events_hash_key').on(t.tenantId, t.contentHash, t.ts),
    index('orderflow_events_tenant_symbol_ts_idx').on(t.tenantId, t.symbol, t.ts),
    index('orderflow_events_source_seq_idx').on(t.tenantId, t.source, t.seq),
  ],
);

/** Per-symbol feature vectors from the engine (model inputs, not money: float64). */
export const features = pgTable(
  'features',
  {
    ts: tstz('ts').notNull(),
    symbol: text('symbol').notNull(),
    emaFast: doublePrecision('ema_fast').notNull(),
    emaSlow: doublePrecision('ema_slow').notNull(),
    vwap: doublePrecision('vwap').notNull(),
    realizedVol: doublePrecision('realized_vol').notNull(),
    orderFlowImbalance: doublePrecision('order_flow_imbalance').notNull(),
    microPrice: doublePrecision('micro_price').notNull(),
    spreadZ: doublePrecision('spread_z').notNull(),
    momentum: doublePrecision('momentum').notNull(),
  },
  (t) => [index('features_symbol_ts_idx').on(t.symbol, t.ts)],
);

/** Scored pattern signals from the engine. Market-wide; desks act on them through proposals. */
export const signals = pgTable(
  'signals',
  {
    id: uuid('id').notNull(),
    /** When the signal was produced (tsSignal). */
    ts: tstz('ts').notNull(),
    /** Event time of the tick that triggered it. */
    tsEvent: tstz('ts_event').notNull(),
    symbol: text('symbol').notNull(),
    direction: text('direction', { enum: ['long', 'short'] }).notNull(),
    pattern: text('pattern', { enum: ['breakout', 'mean_reversion', 'absorption'] }).notNull(),
    score: doublePrecision('score').notNull(),
    price: decimal('price'),
    features: jsonb('features').$type<Record<string, number>>().notNull(),
    modelVersion: text('model_version').notNull(),
    /**
     * The signal's place in the live feed (`signals.onNew`): taken from `signals_stream_id_seq`
     * by the server when it stores the signal from the stream, in commit order, and the feed's
     * event id. Null until the server has seen the signal (the engine's own insert leaves it).
     */
    streamId: bigint('stream_id', { mode: 'number' }),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.ts] }),
    index('signals_symbol_ts_idx').on(t.symbol, t.ts),
    index('signals_pattern_ts_idx').on(t.pattern, t.ts),
    index('signals_stream_id_idx').on(t.streamId).where(sql`${t.streamId} is not null`),
  ],
);

/** A trader's manual decision on a signal (accept / reject / note), per desk, append-only. */
export const signalDecisions = pgTable(
  'signal_decisions',
  {
    id: pkId(),
    tenantId: tenantId(),
    signalId: uuid('signal_id').notNull(),
    userId: uuid('user_id').notNull(),
    decision: text('decision', { enum: ['accept', 'reject', 'note'] }).notNull(),
    note: text('note'),
    createdAt: createdAt(),
  },
  (t) => [index('signal_decisions_signal_idx').on(t.tenantId, t.signalId)],
);

/** Desk equity curve: one row on every fill and at a fixed interval. */
export const equitySnapshots = pgTable(
  'equity_snapshots',
  {
    tenantId: tenantId(),
    ts: tstz('ts').notNull(),
    equity: decimal('equity').notNull(),
    cash: decimal('cash').notNull(),
    realizedPnl: decimal('realized_pnl').notNull(),
    unrealizedPnl: decimal('unrealized_pnl').notNull(),
    fees: decimal('fees').notNull(),
    grossExposure: decimal('gross_exposure').notNull(),
    netExposure: decimal('net_exposure').notNull(),
    reason: text('reason', { enum: ['fill', 'interval', 'reconcile'] }).notNull(),
  },
  (t) => [index('equity_snapshots_tenant_ts_idx').on(t.tenantId, t.ts)],
);

/**
 * OHLCV bars. Continuous aggregates on TimescaleDB, materialized views of the same name and
 * columns otherwise (created by the custom migration; drizzle only reads them).
 */
const barColumns = {
  bucket: tstz('bucket').notNull(),
  symbol: text('symbol').notNull(),
  open: decimal('open').notNull(),
  high: decimal('high').notNull(),
  low: decimal('low').notNull(),
  close: decimal('close').notNull(),
  volume: decimal('volume').notNull(),
  vwap: decimal('vwap').notNull(),
  tradeCount: bigint('trade_count', { mode: 'number' }).notNull(),
};
export const bars1s = pgView('bars_1s', barColumns).existing();
export const bars1m = pgView('bars_1m', barColumns).existing();

/**
 * The model registry (migration 0011): every signal model the engine has scored with, the hash of
 * its training data, its metrics and the evaluation harness's results
 * (shared/src/schemas/signal-quality.ts). Market-wide like `signals`; at most one row is active.
 */
export const signalModels = pgTable(
  'signal_models',
  {
    version: text('version').primaryKey(),
    createdAt: createdAt(),
    trainingDataHash: text('training_data_hash').notNull(),
    params: jsonb('params').notNull().default(sql`'{}'::jsonb`),
    metrics: jsonb('metrics').notNull().default(sql`'{}'::jsonb`),
    evaluation: jsonb('evaluation'),
    active: boolean('active').notNull().default(false),
  },
  (t) => [uniqueIndex('signal_models_one_active').on(t.active).where(sql`${t.active}`)],
);
