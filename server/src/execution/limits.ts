import { instruments, riskLimits } from '@aegis/shared/db';
import { AppError, ErrorCode } from '@aegis/shared/errors';
import type { TenantId } from '@aegis/shared/ids';
import {
  type AssetClass,
  effectiveLimits,
  LIMIT_FIELDS,
  type LimitField,
  type StoredLimits,
} from '@aegis/shared/risk/limits';
import type {
  RemoveRiskLimitInput,
  ResetRiskLimitsInput,
  RiskLimitsScopeView,
  SetRiskLimitsInput,
} from '@aegis/shared/schemas/order-risk';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { record as recordAudit } from '../audit/service.ts';
import type { Tx } from '../db/database.ts';
import { norm } from './order-rows.ts';
import type { Actor } from './types.ts';

/**
 * Risk limits per desk ('*') and per instrument, as stored rows and as effective limits with
 * their source. Semantics (inherit, explicit removal, instrument overrides) are in
 * shared/src/risk/limits.ts; this file reads and writes rows and audits every change with the
 * effective limits before and after.
 */

type Row = typeof riskLimits.$inferSelect;

export function storedLimits(r: Row): StoredLimits {
  const values: Record<string, string | number | null> = {};
  for (const f of LIMIT_FIELDS) {
    const v = r[f];
    values[f] = typeof v === 'string' ? norm(v) : v;
  }
  return { values, restricted: r.restricted, removed: r.removedLimits as StoredLimits['removed'] };
}

function scopeView(
  symbol: string,
  desk: Row | undefined,
  own: Row | undefined,
  assetClass: AssetClass | null = null,
): RiskLimitsScopeView {
  const deskStored = desk ? storedLimits(desk) : null;
  const e =
    symbol === '*'
      ? effectiveLimits(deskStored, null)
      : effectiveLimits(deskStored, own ? storedLimits(own) : null, assetClass);
  const fields = {} as RiskLimitsScopeView['fields'];
  for (const f of LIMIT_FIELDS) {
    const v = e.fields[f];
    fields[f] = { value: v.value, source: v.source, removal: v.removal ?? null };
  }
  return {
    symbol,
    stored: own !== undefined,
    fields,
    restricted: e.restricted,
    updatedAt: own?.updatedAt?.toISOString() ?? null,
    updatedBy: own?.updatedBy ?? null,
  };
}

async function rowsOf(tx: Tx, tenantId: TenantId, symbols?: readonly string[]): Promise<Row[]> {
  return tx
    .select()
    .from(riskLimits)
    .where(
      symbols
        ? and(eq(riskLimits.tenantId, tenantId), inArray(riskLimits.symbol, [...symbols]))
        : eq(riskLimits.tenantId, tenantId),
    )
    .orderBy(asc(riskLimits.symbol));
}

/**
 * Effective limits: the desk scope first, then every instrument with an override row, or, with
 * `symbol`, the desk scope and that instrument's scope (with or without a row of its own).
 */
export async function getLimits(tx: Tx, tenantId: TenantId, symbol?: string): Promise<RiskLimitsScopeView[]> {
  if (symbol !== undefined) await assertInstrument(tx, symbol);
  const rows = await rowsOf(tx, tenantId, symbol === undefined ? undefined : ['*', symbol]);
  const desk = rows.find((r) => r.symbol === '*');
  const scopes = symbol === undefined ? rows.filter((r) => r.symbol !== '*').map((r) => r.symbol) : [symbol];
  const classes = await assetClassesOf(tx, scopes);
  return [
    scopeView('*', desk, desk),
    ...scopes.map((s) =>
      scopeView(
        s,
        desk,
        rows.find((r) => r.symbol === s),
        classes.get(s) ?? null,
      ),
    ),
  ];
}

/** Asset class per instrument symbol (its per-order defaults differ: shared/src/risk/limits.ts). */
async function assetClassesOf(tx: Tx, symbols: readonly string[]): Promise<Map<string, AssetClass>> {
  if (symbols.length === 0) return new Map();
  const rows = await tx
    .select({ symbol: instruments.symbol, assetClass: instruments.assetClass })
    .from(instruments)
    .where(inArray(instruments.symbol, [...symbols]));
  return new Map(rows.map((r) => [r.symbol, r.assetClass]));
}

/**
 * Limits for an instrument the platform does not list are refused, the field named. Returns the
 * instrument's asset class (null for the desk scope '*').
 */
async function assertInstrument(tx: Tx, symbol: string): Promise<AssetClass | null> {
  if (symbol === '*') return null;
  const [found] = await tx
    .select({ assetClass: instruments.assetClass })
    .from(instruments)
    .where(eq(instruments.symbol, symbol));
  if (!found) {
    throw new AppError(ErrorCode.BAD_INPUT, `symbol: no instrument ${symbol}`, {
      field: 'symbol',
      symbol,
    });
  }
  return found.assetClass;
}

/** Locks the scope's row (if any) and returns the effective view before the change. */
async function lockScope(tx: Tx, tenantId: TenantId, symbol: string) {
  const assetClass = await assertInstrument(tx, symbol);
  const rows = await tx
    .select()
    .from(riskLimits)
    .where(and(eq(riskLimits.tenantId, tenantId), inArray(riskLimits.symbol, ['*', symbol])))
    .for('update');
  const desk = rows.find((r) => r.symbol === '*');
  const own = rows.find((r) => r.symbol === symbol);
  return { own, assetClass, before: scopeView(symbol, desk, own, assetClass) };
}

async function afterView(tx: Tx, tenantId: TenantId, symbol: string): Promise<RiskLimitsScopeView> {
  const rows = await rowsOf(tx, tenantId, ['*', symbol]);
  const desk = rows.find((r) => r.symbol === '*');
  const classes = symbol === '*' ? new Map<string, AssetClass>() : await assetClassesOf(tx, [symbol]);
  return scopeView(
    symbol,
    desk,
    rows.find((r) => r.symbol === symbol),
    classes.get(symbol) ?? null,
  );
}

/**
 * One audited change of a scope, as set, remove and reset make it: the scope's row locked and its
 * view read before, `change` applied, the view read after, and `risk.limits.<verb>` recorded with
 * both views beside what `audit` adds.
 */
async function changeScope(
  tx: Tx,
  tenantId: TenantId,
  symbol: string,
  actor: Actor,
  verb: 'set' | 'remove' | 'reset',
  change: (own: Row | undefined) => Promise<void>,
  audit: (before: RiskLimitsScopeView) => { payload: Record<string, unknown>; details: string },
): Promise<RiskLimitsScopeView> {
  const { own, before } = await lockScope(tx, tenantId, symbol);
  await change(own);
  const after = await afterView(tx, tenantId, symbol);
  const { payload, details } = audit(before);
  await recordAudit(tx, {
    action: `risk.limits.${verb}`,
    actor,
    targetType: 'risk_limits',
    targetId: symbol,
    payload: { before, after, ...payload },
    details,
  });
  return after;
}

const userOf = (actor: Actor) => (actor.type === 'user' ? actor.id : null);

async function upsert(
  tx: Tx,
  tenantId: TenantId,
  symbol: string,
  set: Partial<Row>,
  actor: Actor,
): Promise<void> {
  const stamp = { updatedBy: userOf(actor), updatedAt: new Date() };
  await tx
    .insert(riskLimits)
    .values({ tenantId, symbol, ...set, ...stamp })
    .onConflictDoUpdate({ target: [riskLimits.tenantId, riskLimits.symbol], set: { ...set, ...stamp } });
}

/** Merges the given fields into the scope; every other field keeps its effective value. */
export async function setLimits(
  tx: Tx,
  tenantId: TenantId,
  input: SetRiskLimitsInput,
  actor: Actor,
): Promise<RiskLimitsScopeView> {
  const { symbol, ...fields } = input;
  const given = Object.keys(fields) as (LimitField | 'restricted')[];
  // The schema refuses {} already; this guards callers that bypass it (never audit "no change").
  if (given.length === 0) throw new AppError(ErrorCode.BAD_INPUT, 'no limit given', { field: 'input' });
  return changeScope(
    tx,
    tenantId,
    symbol,
    actor,
    'set',
    async (own) => {
      // Setting a removed limit brings it back.
      const removed = { ...(own?.removedLimits ?? {}) };
      for (const f of given) delete removed[f];
      await upsert(tx, tenantId, symbol, { ...fields, removedLimits: removed }, actor);
    },
    () => ({
      payload: { changed: fields },
      details: `limits ${symbol}: ${given.map((f) => `${f}=${String(fields[f])}`).join(', ')}`,
    }),
  );
}

/** Switches one limit off for the scope ("no limit"): an explicit removal, stored and audited. */
export async function removeLimit(
  tx: Tx,
  tenantId: TenantId,
  input: RemoveRiskLimitInput,
  actor: Actor,
): Promise<RiskLimitsScopeView> {
  const { symbol, field } = input;
  return changeScope(
    tx,
    tenantId,
    symbol,
    actor,
    'remove',
    async (own) => {
      const removed = {
        ...(own?.removedLimits ?? {}),
        [field]: { at: new Date().toISOString(), by: userOf(actor) },
      };
      await upsert(tx, tenantId, symbol, { [field]: null, removedLimits: removed }, actor);
    },
    (before) => ({
      payload: { field },
      details: `limits ${symbol}: ${field} removed (was ${String(before.fields[field].value)})`,
    }),
  );
}

/**
 * One field (or the whole scope) inherits again: the platform default for the desk, the desk's
 * value for an instrument. Clears a removal too. Audited even when nothing changes, as a reset.
 */
export async function resetLimits(
  tx: Tx,
  tenantId: TenantId,
  input: ResetRiskLimitsInput,
  actor: Actor,
): Promise<RiskLimitsScopeView> {
  const { symbol, field } = input;
  return changeScope(
    tx,
    tenantId,
    symbol,
    actor,
    'reset',
    async (own) => {
      if (own && field === undefined) {
        await tx
          .delete(riskLimits)
          .where(and(eq(riskLimits.tenantId, tenantId), eq(riskLimits.symbol, symbol)));
      } else if (own && field !== undefined) {
        const removed = { ...own.removedLimits };
        delete removed[field];
        await upsert(tx, tenantId, symbol, { [field]: null, removedLimits: removed }, actor);
      }
    },
    () => ({
      payload: { field: field ?? null },
      details: `limits ${symbol}: ${field ?? 'every limit'} reset to ${symbol === '*' ? 'the platform default' : "the desk's value"}`,
    }),
  );
}
