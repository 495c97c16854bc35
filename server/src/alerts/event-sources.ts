import { dec } from '@aegis/shared/accounting/decimal';
import { tenants } from '@aegis/shared/db';
import { asTenantId, type TenantId } from '@aegis/shared/ids';
import type { Logger } from '@aegis/shared/logging';
import { sql } from 'drizzle-orm';
import type { QuoteBook } from '../brokers/quote-book.ts';
import { type Db, type Tx, withTenant } from '../db/database.ts';
import { loadLimits } from '../execution/risk-context.ts';
import { valueDesk } from '../execution/valuation.ts';
import { type NewAlertEvent, readAlertSettings, recordAlertEvent } from './store.ts';

/**
 * Finds desk events in what the platform already records, read-only: the audit chain (halts
 * engaged and released, desk and global; reconciliation drift), fills, proposals pending past the
 * desk's wait, and the daily loss against its limit. Each cause has a source key, and an event is
 * written only when its key is new for the desk (unique in SQL), so every server process may scan
 * and each event is still written once. Scans look back `lookbackMs`: a cause older than that
 * when first seen (every process down for longer) is not announced.
 */

type AuditRow = {
  id: number;
  action: string;
  outcome: string;
  details: string | null;
  target_id: string | null;
  ts: string;
};

const iso = (ts: string | Date) => new Date(ts).toISOString();

function auditEvent(row: AuditRow, platform: boolean): NewAlertEvent | null {
  const scope = platform ? 'Global' : 'Desk';
  const data = { auditId: row.id, at: iso(row.ts), scope: platform ? 'global' : 'desk' };
  /** A halt engaged or released, desk or global, as its audit row tells it. */
  const halt = (state: 'engaged' | 'released', severity: NewAlertEvent['severity']): NewAlertEvent => ({
    kind: `halt.${state}`,
    severity,
    title: `${scope} halt ${state}`,
    body: row.details ?? `${scope.toLowerCase()} halt ${state}`,
    data,
    sourceKey: `audit:${row.id}`,
  });
  if (row.action === 'halt.engage') return halt('engaged', 'critical');
  if (row.action === 'halt.release') return halt('released', 'info');
  if (row.action === 'execution.reconcile' && row.outcome === 'failed')
    return {
      kind: 'reconcile.drift',
      severity: 'critical',
      title: 'Reconciliation drift',
      body: row.details ?? 'positions or orders differ from the broker',
      data: { auditId: row.id, at: iso(row.ts) },
      sourceKey: `audit:${row.id}`,
    };
  return null;
}

export interface EventSourceOptions {
  readonly lookbackMs: number;
}

export class AlertEventSources {
  readonly #db: Db;
  readonly #log: Logger;
  readonly #quotes: QuoteBook | null;
  readonly #o: EventSourceOptions;

  constructor(deps: { db: Db; log: Logger; quotes: QuoteBook | null; options: EventSourceOptions }) {
    this.#db = deps.db;
    this.#log = deps.log;
    this.#quotes = deps.quotes;
    this.#o = deps.options;
  }

  /** One scan of every desk; returns the desks that got new events. */
  async scan(withDailyLoss: boolean): Promise<Set<TenantId>> {
    const lookback = `${this.#o.lookbackMs} milliseconds`;
    // Platform rows (global halts) are read without a desk set, the only way RLS shows them.
    const platform = await this.#db.transaction(async (tx) => [
      ...(await tx.execute<AuditRow>(sql`
        select id, action, outcome, details, target_id, ts::text from audit_log
         where tenant_id is null and action in ('halt.engage', 'halt.release')
           and ts > now() - ${lookback}::interval
         order by id`)),
    ]);
    const desks = await this.#db.select({ id: tenants.id }).from(tenants);
    const touched = new Set<TenantId>();
    for (const d of desks) {
      const tenantId = asTenantId(d.id);
      try {
        const n = await withTenant(this.#db, tenantId, (tx) =>
          this.#scanDesk(tx, tenantId, platform, withDailyLoss),
        );
        if (n > 0) touched.add(tenantId);
      } catch (err) {
        this.#log.warn({ err, tenantId: d.id }, 'alerts: desk scan failed');
      }
    }
    return touched;
  }

  async #scanDesk(tx: Tx, tenantId: TenantId, platform: AuditRow[], withDailyLoss: boolean): Promise<number> {
    const lookback = `${this.#o.lookbackMs} milliseconds`;
    const found: NewAlertEvent[] = [];
    const notSeen = (key: ReturnType<typeof sql>) =>
      sql`not exists (select 1 from alert_events e where e.tenant_id = ${tenantId}::uuid and e.source_key = ${key})`;

    for (const row of platform) {
      const e = auditEvent(row, true);
      if (e) found.push(e);
    }
    const audit = await tx.execute<AuditRow>(sql`
      select a.id, a.action, a.outcome, a.details, a.target_id, a.ts::text from audit_log a
       where a.tenant_id = ${tenantId}::uuid
         and a.action in ('halt.engage', 'halt.release', 'execution.reconcile')
         and a.ts > now() - ${lookback}::interval
         and ${notSeen(sql`'audit:' || a.id`)}
       order by a.id`);
    for (const row of audit) {
      const e = auditEvent(row, false);
      if (e) found.push(e);
    }

    const fills = await tx.execute<{
      id: string;
      order_id: string;
      symbol: string;
      side: string;
      quantity: string;
      price: string;
      ts: string;
    }>(sql`
      select f.id, f.order_id, f.symbol, f.side, f.quantity::text, f.price::text, f.ts::text from fills f
       where f.tenant_id = ${tenantId}::uuid and f.created_at > now() - ${lookback}::interval
         and ${notSeen(sql`'fill:' || f.id`)}
       order by f.created_at limit 500`);
    for (const f of fills) {
      const qty = dec(f.quantity).toString();
      const px = dec(f.price).toString();
      found.push({
        kind: 'order.filled',
        severity: 'info',
        title: `Filled: ${f.side} ${qty} ${f.symbol}`,
        body: `${f.side} ${qty} ${f.symbol} @ ${px}`,
        data: { fillId: f.id, orderId: f.order_id, symbol: f.symbol, side: f.side, quantity: qty, price: px },
        sourceKey: `fill:${f.id}`,
      });
    }

    const settings = await readAlertSettings(tx, tenantId);
    const waiting = await tx.execute<{ id: string; symbol: string; side: string; created_at: string }>(sql`
      select p.id, p.symbol, p.side, p.created_at::text from proposals p
       where p.tenant_id = ${tenantId}::uuid and p.status = 'pending' and p.expires_at > now()
         and p.created_at <= now() - make_interval(mins => ${settings.proposalWaitMinutes})
         and ${notSeen(sql`'proposal:' || p.id`)}
       limit 100`);
    for (const p of waiting) {
      found.push({
        kind: 'proposal.waiting',
        severity: 'warning',
        title: `Proposal waiting over ${settings.proposalWaitMinutes} min`,
        body: `${p.side} ${p.symbol} proposed at ${iso(p.created_at)} is still waiting for a decision`,
        data: { proposalId: p.id, symbol: p.symbol, createdAt: iso(p.created_at) },
        sourceKey: `proposal:${p.id}`,
      });
    }

    if (withDailyLoss && this.#quotes) {
      const e = await this.#dailyLoss(tx, tenantId, settings.dailyLossWarnPct);
      if (e) found.push(e);
    }

    let written = 0;
    for (const e of found) if ((await recordAlertEvent(tx, tenantId, e)) !== null) written++;
    return written;
  }

  async #dailyLoss(tx: Tx, tenantId: TenantId, pct: number): Promise<NewAlertEvent | null> {
    const limits = await loadLimits(tx, tenantId, '*');
    if (limits.maxDailyLoss === null) return null;
    const limit = dec(limits.maxDailyLoss);
    if (limit.lte(0)) return null;
    const v = await valueDesk(tx, tenantId, this.#quotes!, '0', new Date());
    const loss = dec(v.daily.net).neg();
    const used = loss.div(limit).times(100);
    if (used.lt(pct)) return null;
    const usedPct = used.toDecimalPlaces(1).toString();
    return {
      kind: 'daily_loss.near',
      severity: used.gte(100) ? 'critical' : 'warning',
      title: `Daily loss at ${usedPct}% of the limit`,
      body: `loss ${loss.toDecimalPlaces(2).toString()} of a ${limit.toString()} daily limit (warning at ${pct}%)`,
      data: { loss: loss.toString(), limit: limit.toString(), usedPct, warnPct: pct },
      // Once per desk session.
      sourceKey: `daily_loss:${v.sessionStart.toISOString()}`,
    };
  }
}
