import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotLeaseHolder } from '../../src/execution/broker-registry.ts';
import type { Actor } from '../../src/execution/types.ts';
import { createExecutionFixture, type ExecutionFixture } from './execution-fixture.ts';
import { insertDeskLimits } from './support/desk-limits.ts';

/**
 * A dispatcher that lost its lease stops sending at once: its outbox claims are fenced in SQL by
 * the lease token (a stale holder claims nothing even before it notices), its renewal reports
 * the loss and closes its broker session (the paper account is not open in two processes), and
 * the resource's rows go out exactly once through whoever holds the lease next.
 */
let fx: ExecutionFixture;
const actor: Actor = { type: 'user', id: randomUUID() };

beforeAll(async () => {
  fx = await createExecutionFixture({ leaseTtlMs: 5_000, leaseRenewMs: 3_600_000 });
  fx.quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', new Date());
  await insertDeskLimits(fx.owner, fx.tenantId);
});
afterAll(async () => {
  await fx?.close();
});

const place = () => fx.placeOrder({}, { actor });

describe('a dispatcher that lost its lease', () => {
  it('claims nothing (fenced by token), closes its session on renewal, and the next holder sends once', async () => {
    const resource = `paper:${fx.tenantId}`;
    const paper = await fx.runtime.brokers.paper(fx.tenantId);
    const [held] = await fx.owner<{ token: string }[]>`
      select fencing_token::text as token from execution_leases where resource = ${resource}`;
    // Another process takes the lease over (as after this one stalled past its TTL).
    await fx.owner`update execution_leases set holder = 'other', fencing_token = fencing_token + 1,
      expires_at = now() + interval '1 hour' where resource = ${resource}`;

    // This process does not know yet (its lease still looks valid locally): the claim is refused
    // by PostgreSQL all the same, and nothing reaches its broker.
    const o = await place();
    await fx.runtime.dispatcher.dispatchTenant(fx.tenantId);
    const [row] = await fx.owner<{ attempts: number; dispatched: boolean }[]>`
      select attempts, dispatched_at is not null as dispatched from outbox where aggregate_id = ${o.id}`;
    expect(row).toEqual({ attempts: 0, dispatched: false });
    expect(await paper.getOrderByClientId(o.clientOrderId)).toBeNull();

    // Its renewal finds the lease gone: the session closes, and no new one opens while the
    // other holder lives.
    await fx.runtime.brokers.leases.renew();
    expect(fx.runtime.brokers.leases.held(resource)).toBeNull();
    expect(isNotLeaseHolder(await fx.runtime.brokers.paper(fx.tenantId).catch((e: unknown) => e))).toBe(true);
    expect(await fx.runtime.dispatcher.dispatchTenant(fx.tenantId, { forward: false })).toBe(0);

    // The other holder goes away (its lease expires): this process takes over with a higher
    // token and sends the order, once.
    await fx.owner`update execution_leases set expires_at = now() - interval '1 second' where resource = ${resource}`;
    await fx.settle();
    const [after] = await fx.owner<{ token: string; holder: string }[]>`
      select fencing_token::text as token, holder from execution_leases where resource = ${resource}`;
    expect(Number(after!.token)).toBe(Number(held!.token) + 2);
    expect(after!.holder).toBe(fx.runtime.brokers.leases.holder);
    const [order] = await fx.owner<{ status: string }[]>`select status from orders where id = ${o.id}`;
    expect(order!.status).toBe('filled');
    const next = await fx.runtime.brokers.paper(fx.tenantId);
    expect(next).not.toBe(paper);
    expect((await next.getExecutions(o.clientOrderId)).filter((r) => r.kind === 'accepted')).toHaveLength(1);
    const fills = await fx.owner`select 1 from fills where order_id = ${o.id}`;
    expect(fills.length).toBeGreaterThan(0);
  });
});
