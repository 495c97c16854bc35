/**
 * Desk alerts end to end: a real server, a real local HTTP receiver that verifies every
 * signature and timestamp the way docs/alerts.md tells receivers to, and can refuse the first N
 * attempts of a path to show retries. Short retry waits through AlertOptions.
 *
 * One file: alert delivery is one path (signing, retries, the delivery log, the receiver's checks)
 * and every test shares the one server and receiver set up here.
 */
import { createDb } from '@aegis/shared/db/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { record as recordAudit } from '../../src/audit/service.ts';
import { withTenant } from '../../src/db/database.ts';
import { testExecution } from './support/test-execution.ts';
import { waitUntil } from './support/wait.ts';
import {
  startAlertingServer,
  startWebhookReceiver,
  type WebhookReceiver,
} from './support/webhook-receiver.ts';
import { type Client, failure, signIn, type TestServer } from './test-server.ts';

interface Received {
  path: string;
  body: string;
  event: string | undefined;
  delivery: string | undefined;
  verified: boolean;
  status: number;
  at: number;
}

const RETRY_MS = [150, 300, 450];
let t: TestServer;
let admin: Awaited<ReturnType<typeof signIn>>;
let client: Client;
let receiver: WebhookReceiver;
let receiverUrl: string;
const received: Received[] = [];
/** Attempts still to refuse per path. */
const failFirst = new Map<string, number>();

const execOptions = testExecution({
  outboxIntervalMs: 200,
  paper: { seed: 3, slippageBps: '5' },
});

beforeAll(async () => {
  receiver = await startWebhookReceiver((d, res) => {
    const left = failFirst.get(d.path) ?? 0;
    if (d.path === '/redirect' && d.verified) {
      received.push({ ...d, event: undefined, delivery: undefined, status: 302, at: Date.now() });
      res.writeHead(302, { location: `${receiver.url}/redirected` });
      res.end();
      return;
    }
    const status = !d.verified ? 401 : left > 0 ? 500 : 204;
    if (left > 0) failFirst.set(d.path, left - 1);
    received.push({ ...d, status, at: Date.now() });
    res.statusCode = status;
    res.end();
  });
  receiverUrl = receiver.url;
  t = await startAlertingServer({ execution: execOptions, retryScheduleMs: RETRY_MS });
  admin = await signIn(t.url, t.admin.email, t.admin.password);
  client = admin.client;
  await client.auth.reauthenticate.mutate({ password: admin.password });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

async function endpoint(c: Client, path: string, events: string[], format = 'aegis') {
  const created = await c.alerts.createEndpoint.mutate({
    name: `receiver ${path}`,
    url: `${receiverUrl}${path}`,
    format: format as never,
    events: events as never,
  });
  receiver.secrets.set(path, created.secret);
  return created;
}

describe('desk alerts', () => {
  it('a halt engaged through the server is a notification and a signed delivery, retried until accepted', async () => {
    const created = await endpoint(client, '/desk-a', ['halt.engaged', 'halt.released']);
    expect(created.secret).toMatch(/^whsec_/);
    // The secret is shown once: not in the listing, and not stored as plain text.
    const listed = await client.alerts.endpoints.query();
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect(listed[0]!.target).toBe(`${receiverUrl}/…`);
    const [row] = await t.owner<{ secret_sealed: string }[]>`select secret_sealed from alert_endpoints`;
    expect(row!.secret_sealed).not.toContain(created.secret.slice(6));
    expect(row!.secret_sealed).toMatch(/^v1\./);

    failFirst.set('/desk-a', 2);
    const before = (await client.alerts.list.query({})).unread;
    await client.halt.engage.mutate({ scope: 'desk', reason: 'alerts drill' });

    const list = await waitUntil(
      () => client.alerts.list.query({}),
      (l) => l.events.some((e) => e.kind === 'halt.engaged'),
      'the notification',
    );
    expect(list.unread).toBe(before + 1);
    const event = list.events.find((e) => e.kind === 'halt.engaged')!;
    expect(event).toMatchObject({ severity: 'critical', title: 'Desk halt engaged', read: false });
    expect(event.body).toContain('alerts drill');

    const ok = await waitUntil(
      () => received.filter((r) => r.path === '/desk-a' && r.event === 'halt.engaged'),
      (rs) => rs.some((r) => r.status === 204),
      'the delivery',
    );
    expect(ok.map((r) => r.status)).toEqual([500, 500, 204]);
    expect(ok.every((r) => r.verified)).toBe(true);
    // One delivery, three attempts: the same delivery id each time.
    expect(new Set(ok.map((r) => r.delivery)).size).toBe(1);
    const body = JSON.parse(ok[2]!.body);
    expect(body).toMatchObject({ kind: 'halt.engaged', severity: 'critical', desk: { id: t.admin.deskId } });
    expect(body.id).toBe(`evt_${event.id}`);
    // Backoff: each wait at least the scheduled one less its jitter.
    expect(ok[1]!.at - ok[0]!.at).toBeGreaterThanOrEqual(RETRY_MS[0]! * 0.8 - 5);
    expect(ok[2]!.at - ok[1]!.at).toBeGreaterThanOrEqual(RETRY_MS[1]! * 0.8 - 5);

    // The delivery log in the console: newest first, status, attempt, outcome.
    const log = await waitUntil(
      () => client.alerts.deliveries.query({ endpointId: created.endpoint.id }),
      (l) => l.length >= 3,
      'the delivery log',
    );
    expect(log.slice(0, 3).map((a) => [a.attempt, a.outcome, a.statusCode])).toEqual([
      [3, 'delivered', 204],
      [2, 'retry', 500],
      [1, 'retry', 500],
    ]);
    expect(log[1]!.error).toBe('HTTP 500');

    // Mark read: the count goes down for this person.
    const marked = await client.alerts.markRead.mutate({ ids: [event.id] });
    expect(marked.unread).toBe(before);

    await client.halt.release.mutate({ scope: 'desk' });
    await waitUntil(
      () => received.filter((r) => r.path === '/desk-a' && r.event === 'halt.released' && r.status === 204),
      (rs) => rs.length === 1,
      'the release delivery',
    );
    // Each event is written once, however many scans saw its audit row.
    const [n] = await t.owner<{ n: number }[]>`
      select count(*)::int as n from alert_events where kind in ('halt.engaged', 'halt.released')`;
    expect(n!.n).toBe(2);
  });

  it("an endpoint of one desk never receives another desk's events", async () => {
    const deskB = await client.desks.create.mutate({ name: 'Alerts desk B' });
    await client.auth.switchDesk.mutate({ deskId: deskB.id });
    await client.auth.reauthenticate.mutate({ password: admin.password });
    await endpoint(client, '/desk-b', ['halt.engaged', 'halt.released']);
    await client.auth.switchDesk.mutate({ deskId: t.admin.deskId });
    await client.auth.reauthenticate.mutate({ password: admin.password });

    const aBefore = received.filter((r) => r.path === '/desk-a').length;
    await client.halt.engage.mutate({ scope: 'desk', reason: 'desk A only' });
    await waitUntil(
      () => received.filter((r) => r.path === '/desk-a' && r.body.includes('desk A only')),
      (rs) => rs.some((r) => r.status === 204),
      'desk A delivery',
    );
    await client.halt.release.mutate({ scope: 'desk' });
    await waitUntil(
      () => received.filter((r) => r.path === '/desk-a').length,
      (n) => n >= aBefore + 2,
      'desk A release delivery',
    );

    await client.auth.switchDesk.mutate({ deskId: deskB.id });
    await client.auth.reauthenticate.mutate({ password: admin.password });
    // Let a few scans and sends pass: nothing of desk A may reach desk B.
    await new Promise((r) => setTimeout(r, 800));
    expect(received.filter((r) => r.path === '/desk-b')).toEqual([]);
    expect((await client.alerts.list.query({})).events).toEqual([]);

    // And desk B's own halt goes to B's endpoint only.
    const aCount = received.filter((r) => r.path === '/desk-a').length;
    await client.halt.engage.mutate({ scope: 'desk', reason: 'desk B drill' });
    await waitUntil(
      () => received.filter((r) => r.path === '/desk-b' && r.status === 204),
      (rs) => rs.length === 1,
      'desk B delivery',
    );
    expect(JSON.parse(received.find((r) => r.path === '/desk-b')!.body).desk.id).toBe(deskB.id);
    await new Promise((r) => setTimeout(r, 500));
    expect(received.filter((r) => r.path === '/desk-a').length).toBe(aCount);
    await client.halt.release.mutate({ scope: 'desk' });
    await client.auth.switchDesk.mutate({ deskId: t.admin.deskId });
    await client.auth.reauthenticate.mutate({ password: admin.password });
  });

  it('a refused call writes nothing: bad input, refused targets, the wrong role', async () => {
    const count = async () => {
      const [r] = await t.owner<{ e: number; a: number }[]>`
        select (select count(*)::int from alert_endpoints) as e,
               (select count(*)::int from audit_log where action like 'alerts.%') as a`;
      return r!;
    };
    const before = await count();
    const bad: Array<[Record<string, unknown>, number]> = [
      [{ name: 'x', url: 'ftp://example.com/hook', events: ['halt.engaged'] }, 400],
      [{ name: 'x', url: 'http://example.com/hook', events: ['halt.engaged'] }, 400],
      [{ name: 'x', url: 'https://10.1.2.3/hook', events: ['halt.engaged'] }, 400],
      [{ name: 'x', url: 'https://[fd00::1]/hook', events: ['halt.engaged'] }, 400],
      [{ name: 'x', url: 'https://user:pw@example.com/hook', events: ['halt.engaged'] }, 400],
      [{ name: 'x', url: 'https://example.com/hook', events: ['not.an.event'] }, 400],
      [{ name: 'x', url: 'https://example.com/hook', events: [] }, 400],
      [{ name: '', url: 'https://example.com/hook', events: ['halt.engaged'] }, 400],
      [{ name: 'x', url: 'https://example.com/hook', events: ['halt.engaged'], extra: 1 }, 400],
    ];
    for (const [input, status] of bad) {
      const e = await failure(client.alerts.createEndpoint.mutate(input as never));
      expect(e.data?.httpStatus, JSON.stringify(input)).toBe(status);
    }
    const settings = await failure(client.alerts.updateSettings.mutate({ dailyLossWarnPct: 150 }));
    expect(settings.data?.httpStatus).toBe(400);

    // A trader and a viewer see notifications but configure nothing.
    for (const role of ['trader', 'viewer'] as const) {
      const email = `alerts-${role}@example.com`;
      const made = await client.users.create.mutate({ email, displayName: role, role });
      const m = await signIn(t.url, email, made.oneTimePassword!);
      await m.client.alerts.list.query({});
      for (const call of [
        () =>
          m.client.alerts.createEndpoint.mutate({
            name: 'mine',
            url: `${receiverUrl}/nope`,
            events: ['halt.engaged'],
          }),
        () => m.client.alerts.updateSettings.mutate({ proposalWaitMinutes: 5 }),
        () => m.client.alerts.endpoints.query(),
      ]) {
        const e = await failure(call());
        expect(e.data?.httpStatus).toBe(403);
      }
    }
    expect(await count()).toEqual(before);
    expect(received.filter((r) => r.path === '/nope')).toEqual([]);
  });

  it('send test event: Slack and Discord bodies, signed; the log shows it', async () => {
    const slack = await endpoint(client, '/slack', ['halt.engaged'], 'slack');
    const discord = await endpoint(client, '/discord', ['halt.engaged'], 'discord');
    await client.alerts.sendTest.mutate({ endpointId: slack.endpoint.id });
    await client.alerts.sendTest.mutate({ endpointId: discord.endpoint.id });
    const s = await waitUntil(
      () => received.filter((r) => r.path === '/slack'),
      (rs) => rs.length === 1,
      'slack test',
    );
    const d = await waitUntil(
      () => received.filter((r) => r.path === '/discord'),
      (rs) => rs.length === 1,
      'discord test',
    );
    expect(s[0]!.event).toBe('test');
    expect(Object.keys(JSON.parse(s[0]!.body))).toEqual(['text']);
    expect(JSON.parse(s[0]!.body).text).toContain('Test event');
    expect(Object.keys(JSON.parse(d[0]!.body))).toEqual(['content']);
    expect(s[0]!.verified && d[0]!.verified).toBe(true);
    const log = await waitUntil(
      () => client.alerts.deliveries.query({ endpointId: slack.endpoint.id }),
      (l) => l.length === 1,
      'slack log',
    );
    expect(log[0]).toMatchObject({ kind: 'test', attempt: 1, outcome: 'delivered', statusCode: 204 });
  });

  it('a delivery nobody accepts ends dead after the schedule', async () => {
    const dead = await endpoint(client, '/dead', ['halt.engaged']);
    failFirst.set('/dead', 100);
    await client.alerts.sendTest.mutate({ endpointId: dead.endpoint.id });
    const log = await waitUntil(
      () => client.alerts.deliveries.query({ endpointId: dead.endpoint.id }),
      (l) => l.some((a) => a.outcome === 'dead'),
      'dead delivery',
    );
    expect(log.map((a) => a.outcome)).toEqual(['dead', 'retry', 'retry', 'retry']);
    const [row] = await t.owner<{ status: string; attempts: number }[]>`
      select status, attempts from alert_deliveries where endpoint_id = ${dead.endpoint.id}`;
    expect(row).toEqual({ status: 'dead', attempts: RETRY_MS.length + 1 });
  });

  it('a redirect is a failed attempt and is not followed', async () => {
    const r = await endpoint(client, '/redirect', ['halt.engaged']);
    await client.alerts.sendTest.mutate({ endpointId: r.endpoint.id });
    const log = await waitUntil(
      () => client.alerts.deliveries.query({ endpointId: r.endpoint.id }),
      (l) => l.length >= 1,
      'redirect attempt',
    );
    expect(log[log.length - 1]).toMatchObject({
      attempt: 1,
      outcome: 'retry',
      statusCode: 302,
      error: 'HTTP 302 (redirects are not followed)',
    });
    expect(received.filter((x) => x.path === '/redirected')).toEqual([]);
    await client.alerts.updateEndpoint.mutate({ endpointId: r.endpoint.id, enabled: false });
  });

  it('drift, fills and proposals waiting past the desk threshold become events, each once', async () => {
    const deskId = t.admin.deskId;
    await client.alerts.updateSettings.mutate({ proposalWaitMinutes: 1 });
    const insertProposal = (ageMinutes: number) => t.owner<{ id: string }[]>`
      insert into proposals (tenant_id, symbol, side, quantity, order_type, time_horizon, confidence,
                             risk_score, rationale, decider, expires_at, created_at)
      values (${deskId}, 'BTC-USD', 'buy', '0.1', 'market', 'intraday', 0.7, 3, '{}'::jsonb, 'rules',
              now() + interval '1 hour', now() - make_interval(mins => ${ageMinutes}))
      returning id`;
    const [old] = await insertProposal(3);
    const [fresh] = await insertProposal(0);
    await t.owner`
      insert into fills (tenant_id, order_id, execution_id, ts, symbol, side, quantity, price)
      values (${deskId}, gen_random_uuid(), 'alerts-exec-1', now(), 'BTC-USD', 'sell', '0.25', '50123.5')`;
    const app = createDb(t.database.appUrl, { max: 1 });
    try {
      await withTenant(app.db, deskId, async (tx) => {
        await recordAudit(tx, {
          action: 'execution.reconcile',
          actor: { type: 'system', id: 'reconciler' },
          outcome: 'failed',
          details: '1 position mismatch; automated trading halted for the desk',
        });
        // Resolved unknown orders are no drift.
        await recordAudit(tx, {
          action: 'execution.reconcile',
          actor: { type: 'system', id: 'reconciler' },
          details: 'resolved 2 unknown orders',
        });
      });
    } finally {
      await app.close();
    }
    const list = await waitUntil(
      () => client.alerts.list.query({ limit: 200 }),
      (l) =>
        ['proposal.waiting', 'order.filled', 'reconcile.drift'].every((k) =>
          l.events.some((e) => e.kind === k),
        ),
      'the three events',
    );
    // More scans pass; nothing is written twice, the fresh proposal is not announced.
    await new Promise((r) => setTimeout(r, 600));
    const again = await client.alerts.list.query({ limit: 200 });
    const of = (k: string) => again.events.filter((e) => e.kind === k);
    expect(of('reconcile.drift')).toHaveLength(1);
    expect(of('reconcile.drift')[0]!.body).toContain('position mismatch');
    expect(of('order.filled')).toHaveLength(1);
    expect(of('order.filled')[0]).toMatchObject({
      title: 'Filled: sell 0.25 BTC-USD',
      body: 'sell 0.25 BTC-USD @ 50123.5',
    });
    expect(of('proposal.waiting').map((e) => e.data.proposalId)).toEqual([old!.id]);
    expect(of('proposal.waiting')[0]!.data.proposalId).not.toBe(fresh!.id);
    expect(list.unread).toBeGreaterThanOrEqual(3);
  });
});
