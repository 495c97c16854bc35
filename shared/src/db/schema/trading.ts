// One file over 400 lines: the trading tables (proposal → approval → order → fill → position, with
// the risk, halt, outbox and outcome tables around them) share the order-side enums and
// reference each other; one file keeps that lifecycle readable in one place.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { ORDER_STATUSES } from '../../orders/statuses.ts';
import { createdAt, decimal, pkId, tenantId, tstz, updatedAt } from './columns.ts';

export const SIDES = ['buy', 'sell'] as const;
export const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const;
export const TIME_IN_FORCE = ['day', 'gtc', 'ioc', 'fok'] as const;
/** Bracket leg roles (shared/src/orders/bracket.ts). */
export const BRACKET_ROLES = ['stop', 'target'] as const;
/** The order statuses (shared/src/orders/statuses.ts, the one list). */
export { ORDER_STATUSES };

/** Every trade idea, from the agent or a person; deny by default, expires. */
export const proposals = pgTable(
  'proposals',
  {
    id: pkId(),
    tenantId: tenantId(),
    signalId: uuid('signal_id'),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: SIDES }).notNull(),
    quantity: decimal('quantity').notNull(),
    orderType: text('order_type', { enum: ORDER_TYPES }).notNull(),
    limitPrice: decimal('limit_price'),
    stopPrice: decimal('stop_price'),
    targetPrice: decimal('target_price'),
    timeHorizon: text('time_horizon').notNull(),
    confidence: doublePrecision('confidence').notNull(),
    riskScore: integer('risk_score').notNull(),
    /** Layered rationale: market context, signal evidence, risk view, lessons applied. */
    rationale: jsonb('rationale').notNull(),
    lessonIds: uuid('lesson_ids').array().notNull().default(sql`'{}'::uuid[]`),
    status: text('status', {
      enum: ['pending', 'approved', 'rejected', 'expired', 'executed', 'failed', 'denied'],
    })
      .notNull()
      .default('pending'),
    decider: text('decider', { enum: ['openai', 'rules', 'human'] }).notNull(),
    model: text('model'),
    promptTokens: integer('prompt_tokens'),
    completionTokens: integer('completion_tokens'),
    latencyMs: integer('latency_ms'),
    /** The risk governor's verdict per rule, computed when proposed and again at approval. */
    riskVerdict: jsonb('risk_verdict'),
    orderId: uuid('order_id'),
    expiresAt: tstz('expires_at').notNull(),
    decidedAt: tstz('decided_at'),
    /** The account an approved proposal executes through (migration 0015); null: paper. */
    brokerConnectionId: uuid('broker_connection_id'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('proposals_tenant_status_idx').on(t.tenantId, t.status, t.createdAt),
    /** The agent's per-instrument history (pending, last proposal): 0010. */
    index('proposals_tenant_symbol_idx').on(t.tenantId, t.symbol, t.createdAt),
    check('proposals_risk_score_check', sql`${t.riskScore} between 0 and 100`),
  ],
);

/** A human's decision on a proposal. */
export const approvals = pgTable(
  'approvals',
  {
    id: pkId(),
    tenantId: tenantId(),
    proposalId: uuid('proposal_id').notNull(),
    userId: uuid('user_id').notNull(),
    decision: text('decision', { enum: ['approve', 'reject'] }).notNull(),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('approvals_proposal_key').on(t.tenantId, t.proposalId)],
);

export const orders = pgTable(
  'orders',
  {
    id: pkId(),
    tenantId: tenantId(),
    /** Deterministic id sent to the broker; lookups after a timeout use it, never a new one. */
    clientOrderId: text('client_order_id').notNull(),
    brokerOrderId: text('broker_order_id'),
    broker: text('broker').notNull().default('paper'),
    brokerConnectionId: uuid('broker_connection_id'),
    proposalId: uuid('proposal_id'),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: SIDES }).notNull(),
    orderType: text('order_type', { enum: ORDER_TYPES }).notNull(),
    timeInForce: text('time_in_force', { enum: TIME_IN_FORCE }).notNull().default('day'),
    quantity: decimal('quantity').notNull(),
    limitPrice: decimal('limit_price'),
    stopPrice: decimal('stop_price'),
    status: text('status', { enum: ORDER_STATUSES }).notNull().default('pending_new'),
    filledQuantity: decimal('filled_quantity').notNull().default('0'),
    avgFillPrice: decimal('avg_fill_price'),
    fees: decimal('fees').notNull().default('0'),
    rejectReason: text('reject_reason'),
    /** The governor's denial (reason code, limit, requested, current) when status is `denied`. */
    denial: jsonb('denial'),
    /** The governor's verdict per rule at placement, for every order (migration 0026). */
    riskVerdicts: jsonb('risk_verdicts'),
    origin: text('origin', { enum: ['human', 'api', 'agent'] }).notNull(),
    createdBy: text('created_by'),
    /** Bracket legs (migration 0009): the entry they protect, stop or target, their OCO group. */
    parentOrderId: uuid('parent_order_id'),
    bracketRole: text('bracket_role', { enum: BRACKET_ROLES }),
    ocoGroup: text('oco_group'),
    /** Combo legs (migration 0018): the combo they belong to and their ratio in it. */
    comboId: uuid('combo_id'),
    legRatio: integer('leg_ratio'),
    version: integer('version').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('orders_client_order_id_key').on(t.tenantId, t.clientOrderId),
    index('orders_tenant_status_idx').on(t.tenantId, t.status),
    index('orders_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('orders_parent_idx').on(t.tenantId, t.parentOrderId).where(sql`${t.parentOrderId} is not null`),
    check(
      'orders_bracket_role_check',
      sql`${t.bracketRole} is null or ${t.bracketRole} in ('stop', 'target')`,
    ),
    check(
      'orders_bracket_leg_check',
      sql`(${t.parentOrderId} is null) = (${t.bracketRole} is null) and (${t.bracketRole} is null) = (${t.ocoGroup} is null)`,
    ),
    index('orders_combo_idx').on(t.tenantId, t.comboId).where(sql`${t.comboId} is not null`),
    check(
      'orders_combo_leg_check',
      sql`(${t.comboId} is null) = (${t.legRatio} is null) and (${t.legRatio} is null or ${t.legRatio} between 1 and 10)`,
    ),
  ],
);

/** Combo strategies (shared/src/schemas/combo.ts). */
export const COMBO_STRATEGIES = ['vertical', 'straddle', 'strangle', 'custom'] as const;

/**
 * Multi-leg (combo) orders (migration 0018): the combo as one order — quantity in combo units,
 * a signed net limit per unit, its own status (moving with its legs, all-or-none) — whose legs
 * are ordinary `orders` rows (`combo_id`, `leg_ratio`), each following the order state machine.
 */
export const combos = pgTable(
  'combos',
  {
    id: pkId(),
    tenantId: tenantId(),
    clientOrderId: text('client_order_id').notNull(),
    strategy: text('strategy', { enum: COMBO_STRATEGIES }).notNull(),
    quantity: decimal('quantity').notNull(),
    orderType: text('order_type', { enum: ['market', 'limit'] }).notNull(),
    /** Per combo unit: positive a debit paid, negative a credit received. */
    netLimitPrice: decimal('net_limit_price'),
    timeInForce: text('time_in_force', { enum: TIME_IN_FORCE }).notNull().default('day'),
    status: text('status', { enum: ORDER_STATUSES }).notNull().default('pending_new'),
    filledQuantity: decimal('filled_quantity').notNull().default('0'),
    avgNetPrice: decimal('avg_net_price'),
    /** The strategy's maximum loss at the order's price when placed; null: unbounded or unknown. */
    maxLoss: decimal('max_loss'),
    denial: jsonb('denial'),
    brokerConnectionId: uuid('broker_connection_id'),
    proposalId: uuid('proposal_id'),
    origin: text('origin', { enum: ['human', 'api', 'agent'] }).notNull(),
    createdBy: text('created_by'),
    version: integer('version').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('combos_client_order_id_key').on(t.tenantId, t.clientOrderId),
    index('combos_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('combos_tenant_status_idx').on(t.tenantId, t.status),
    check('combos_quantity_check', sql`${t.quantity} > 0`),
    check('combos_limit_check', sql`(${t.orderType} = 'limit') = (${t.netLimitPrice} is not null)`),
  ],
);

/** Executions; deduplicated by the broker's execution id, may arrive out of order. */
export const fills = pgTable(
  'fills',
  {
    id: pkId(),
    tenantId: tenantId(),
    orderId: uuid('order_id').notNull(),
    executionId: text('execution_id').notNull(),
    ts: tstz('ts').notNull(),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: SIDES }).notNull(),
    quantity: decimal('quantity').notNull(),
    price: decimal('price').notNull(),
    fee: decimal('fee').notNull().default('0'),
    liquidity: text('liquidity', { enum: ['maker', 'taker'] }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('fills_execution_key').on(t.tenantId, t.executionId),
    index('fills_tenant_ts_idx').on(t.tenantId, t.ts),
    index('fills_order_idx').on(t.tenantId, t.orderId),
  ],
);

/** Net position per desk and instrument (average-cost accounting). */
export const positions = pgTable(
  'positions',
  {
    tenantId: tenantId(),
    symbol: text('symbol').notNull(),
    quantity: decimal('quantity').notNull().default('0'),
    avgCost: decimal('avg_cost').notNull().default('0'),
    realizedPnl: decimal('realized_pnl').notNull().default('0'),
    fees: decimal('fees').notNull().default('0'),
    /** When the current position was opened (from flat, or flipped); null while flat. */
    openedAt: tstz('opened_at'),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.symbol] })],
);

/**
 * Risk limits per desk (symbol '*') and per instrument (overrides of the per-order limits). A NULL
 * column means "inherit" (platform default for the desk row, the desk's value for an instrument
 * row), never "no limit"; a limit is off only when `removed_limits` names it, which only the
 * audited risk.limits.remove writes. Resolution: shared/src/risk/limits.ts.
 */
export const riskLimits = pgTable(
  'risk_limits',
  {
    id: pkId(),
    tenantId: tenantId(),
    symbol: text('symbol').notNull().default('*'),
    maxOrderQty: decimal('max_order_qty'),
    maxOrderNotional: decimal('max_order_notional'),
    maxPosition: decimal('max_position'),
    maxGrossExposure: decimal('max_gross_exposure'),
    maxNetExposure: decimal('max_net_exposure'),
    maxNetDelta: decimal('max_net_delta'),
    maxOpenLegs: integer('max_open_legs'),
    maxDailyLoss: decimal('max_daily_loss'),
    priceCollarBps: integer('price_collar_bps'),
    maxReferenceAgeMs: integer('max_reference_age_ms'),
    maxSpreadBps: integer('max_spread_bps'),
    duplicateWindowMs: integer('duplicate_window_ms'),
    maxOrdersPerMinute: integer('max_orders_per_minute'),
    lossStreakCount: integer('loss_streak_count'),
    lossStreakThreshold: decimal('loss_streak_threshold'),
    restricted: boolean('restricted').notNull().default(false),
    /** Explicit removals: field name (camelCase, as in the API) → when and by whom. */
    removedLimits: jsonb('removed_limits')
      .$type<Record<string, { at: string; by: string | null }>>()
      .notNull()
      .default({}),
    updatedBy: uuid('updated_by'),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('risk_limits_scope_key').on(t.tenantId, t.symbol)],
);

/**
 * Halts, durable truth for halts. One global row (tenant_id null) and one per desk;
 * the app checks them at every order, Redis pub/sub only speeds propagation.
 */
export const halts = pgTable(
  'halts',
  {
    id: pkId(),
    scope: text('scope', { enum: ['global', 'desk'] }).notNull(),
    tenantId: uuid('tenant_id'),
    engaged: boolean('engaged').notNull().default(false),
    reason: text('reason'),
    engagedBy: uuid('engaged_by'),
    engagedAt: tstz('engaged_at'),
    releasedBy: uuid('released_by'),
    releasedAt: tstz('released_at'),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('halts_scope_key').on(
      t.scope,
      sql`coalesce(${t.tenantId}, '00000000-0000-0000-0000-000000000000'::uuid)`,
    ),
    check('halts_scope_check', sql`(${t.scope} = 'global') = (${t.tenantId} is null)`),
  ],
);

/** Idempotency keys per (tenant, principal, procedure); first result replayed for 24 h. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: tenantId(),
    principal: text('principal').notNull(),
    procedure: text('procedure').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    status: text('status', { enum: ['in_progress', 'completed'] }).notNull(),
    response: jsonb('response'),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.principal, t.procedure, t.key] })],
);

/** Transactional outbox: broker commands committed with the order, sent only once committed. */
export const outbox = pgTable(
  'outbox',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    topic: text('topic').notNull(),
    aggregateId: text('aggregate_id').notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: createdAt(),
    availableAt: tstz('available_at').notNull().defaultNow(),
    dispatchedAt: tstz('dispatched_at'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [
    index('outbox_pending_idx').on(t.availableAt).where(sql`${t.dispatchedAt} is null`),
    // Migration 0013: the dispatcher's claim and takeover join pending rows to their orders.
    index('outbox_pending_tenant_idx').on(t.tenantId, t.id).where(sql`${t.dispatchedAt} is null`),
  ],
);

/** Closed trades reported back for learning. */
export const tradeOutcomes = pgTable(
  'trade_outcomes',
  {
    id: pkId(),
    tenantId: tenantId(),
    proposalId: uuid('proposal_id'),
    signalId: uuid('signal_id'),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: SIDES }).notNull(),
    quantity: decimal('quantity').notNull(),
    entryPrice: decimal('entry_price').notNull(),
    exitPrice: decimal('exit_price').notNull(),
    pnl: decimal('pnl').notNull(),
    openedAt: tstz('opened_at').notNull(),
    closedAt: tstz('closed_at').notNull(),
    notes: text('notes'),
    createdAt: createdAt(),
  },
  (t) => [index('trade_outcomes_tenant_idx').on(t.tenantId, t.closedAt)],
);

/**
 * Lessons from losses (and large wins). `embedding` is real[] with cosine similarity in SQL;
 * when pgvector exists a custom migration adds a vector column and index beside it.
 */
export const lessons = pgTable(
  'lessons',
  {
    id: pkId(),
    tenantId: tenantId(),
    outcomeId: uuid('outcome_id'),
    symbol: text('symbol').notNull(),
    kind: text('kind', { enum: ['loss', 'win'] }).notNull(),
    pnl: decimal('pnl').notNull(),
    summary: text('summary').notNull(),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    embedding: doublePrecision('embedding').array().notNull(),
    embedder: text('embedder').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('lessons_tenant_idx').on(t.tenantId, t.createdAt)],
);

/**
 * Signals the decision agent let go without a proposal, with the gate's code and a reason naming
 * its numbers (shared/src/schemas/agent-skip.ts); one per desk and signal, kept 7 days (0010).
 */
export const agentSkips = pgTable(
  'agent_skips',
  {
    id: pkId(),
    tenantId: tenantId(),
    signalId: uuid('signal_id').notNull(),
    symbol: text('symbol').notNull(),
    direction: text('direction', { enum: ['long', 'short'] }).notNull(),
    score: doublePrecision('score').notNull(),
    code: text('code').notNull(),
    reason: text('reason').notNull(),
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('agent_skips_signal_key').on(t.tenantId, t.signalId),
    index('agent_skips_tenant_created_idx').on(t.tenantId, t.createdAt),
  ],
);

/**
 * A desk in reducing-only mode while one of its linked connections' circuit breaker is open
 * (migration 0013; server/src/execution/reducing-only.ts): one row per source.
 */
export const deskReducingOnly = pgTable(
  'desk_reducing_only',
  {
    tenantId: tenantId(),
    source: text('source').notNull(),
    reason: text('reason').notNull(),
    since: tstz('since').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.source] })],
);
