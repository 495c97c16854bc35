/**
 * The "halt released" alert, through the real server (tRPC over HTTP, PostgreSQL, Redis, the
 * alert scanner and sender): a desk halt engaged by one person and released by another becomes a
 * `halt.released` notification of that desk and a signed webhook delivery to the desk's endpoint,
 * naming the desk and the scope and pointing at the audit row of the release, whose actor is the
 * person who released it. Another desk neither lists it nor receives it. A global halt released
 * by the platform administrator reaches every desk, with the global scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testExecution } from './support/test-execution.ts';
import { sleep, waitUntil } from './support/wait.ts';
import {
  startAlertingServer,
  startWebhookReceiver,
  type WebhookReceiver,
} from './support/webhook-receiver.ts';
import { type Client, signIn, type TestServer } from './test-server.ts';

interface Received {
  readonly path: string;
  readonly event: string | undefined;
  readonly verified: boolean;
  readonly body: Record<string, unknown>;
}

let t: TestServer;
let receiver: WebhookReceiver;
let receiverUrl: string;
const received: Received[] = [];

/** Desk A: the platform administrator (engages) and a desk admin (releases). Desk B: its own admin. */
let platformAdmin: { client: Client; userId: string };
let releaser: { client: Client; userId: string };
let deskB: { id: string; member: Client };

async function reauthenticated(email: string, password: string) {
  const s = await signIn(t.url, email, password);
  await s.client.auth.reauthenticate.mutate({ password: s.password });
  return s;
}

beforeAll(async () => {
  receiver = await startWebhookReceiver((d, res) => {
    received.push({ path: d.path, event: d.event, verified: d.verified, body: JSON.parse(d.body) });
    res.statusCode = 204;
    res.end();
  });
  receiverUrl = receiver.url;
  t = await startAlertingServer({
    execution: testExecution({ outboxIntervalMs: 200, paper: { seed: 5 } }),
    retryScheduleMs: [150, 300],
  });
  const admin = await reauthenticated(t.admin.email, t.admin.password);
  platformAdmin = { client: admin.client, userId: admin.user.id };

  const made = await admin.client.users.create.mutate({
    email: 'releaser@example.com',
    displayName: 'Releaser',
    role: 'admin',
  });
  const r = await reauthenticated('releaser@example.com', made.oneTimePassword!);
  releaser = { client: r.client, userId: made.member.userId };

  // Desk B, with a member of B only and B's own endpoint; then back to desk A.
  const b = await admin.client.desks.create.mutate({ name: 'Release desk B' });
  await admin.client.auth.switchDesk.mutate({ deskId: b.id });
  await admin.client.auth.reauthenticate.mutate({ password: admin.password });
  await endpoint(admin.client, '/desk-b');
  const bMade = await admin.client.users.create.mutate({
    email: 'desk-b@example.com',
    displayName: 'Desk B admin',
    role: 'admin',
  });
  const bMember = await reauthenticated('desk-b@example.com', bMade.oneTimePassword!);
  deskB = { id: b.id, member: bMember.client };
  await admin.client.auth.switchDesk.mutate({ deskId: t.admin.deskId });
  await admin.client.auth.reauthenticate.mutate({ password: admin.password });
  await endpoint(admin.client, '/desk-a');
}, 90_000);

afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

async function endpoint(c: Client, path: string) {
  const created = await c.alerts.createEndpoint.mutate({
    name: `receiver ${path}`,
    url: `${receiverUrl}${path}`,
    events: ['halt.engaged', 'halt.released'],
  });
  receiver.secrets.set(path, created.secret);
}

/** The audit row an alert event points at (`data.auditId`). */
async function auditRow(auditId: unknown) {
  const [row] = await t.owner<
    {
      tenant_id: string | null;
      action: string;
      actor_type: string;
      actor_id: string | null;
      target_id: string | null;
    }[]
  >`select tenant_id, action, actor_type, actor_id, target_id from audit_log where id = ${Number(auditId)}`;
  return row;
}

const released = (path: string) => received.filter((r) => r.path === path && r.event === 'halt.released');

describe('the halt released alert', () => {
  it("a desk halt released by a desk admin: desk A's notification and signed delivery, with the desk, the scope and the releaser; desk B sees nothing", async () => {
    const deskA = t.admin.deskId;
    await platformAdmin.client.halt.engage.mutate({ scope: 'desk', reason: 'release drill' });
    await waitUntil(
      () => releaser.client.alerts.list.query({}),
      (l) => l.events.some((e) => e.kind === 'halt.engaged'),
      'the engaged notification',
    );
    // Released by another person than the one who engaged it.
    const state = await releaser.client.halt.release.mutate({ scope: 'desk' });
    expect(state.halted).toBe(false);

    const list = await waitUntil(
      () => releaser.client.alerts.list.query({}),
      (l) => l.events.some((e) => e.kind === 'halt.released'),
      'the released notification',
    );
    const events = list.events.filter((e) => e.kind === 'halt.released');
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event).toMatchObject({
      severity: 'info',
      title: 'Desk halt released',
      // Who released it, as an engaged alert says who engaged it.
      body: 'desk halt released by releaser@example.com',
      read: false,
      data: { scope: 'desk' },
    });
    // The platform administrator, also a member of desk A, is notified as well.
    const adminList = await platformAdmin.client.alerts.list.query({});
    expect(adminList.events.map((e) => e.id)).toContain(event.id);

    // The release's audit row: desk A's, the desk switch, and the releaser as its actor.
    expect(await auditRow(event.data.auditId)).toEqual({
      tenant_id: deskA,
      action: 'halt.release',
      actor_type: 'user',
      actor_id: releaser.userId,
      target_id: `desk:${deskA}`,
    });
    const [stored] = await t.owner<{ tenant_id: string; n: number }[]>`
      select tenant_id, count(*) over ()::int as n from alert_events where kind = 'halt.released'`;
    expect(stored).toEqual({ tenant_id: deskA, n: 1 });

    // Delivered to desk A's endpoint, signed, once, as the same event.
    const delivered = await waitUntil(
      () => released('/desk-a'),
      (rs) => rs.length > 0,
      "desk A's delivery",
    );
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.verified).toBe(true);
    expect(delivered[0]!.body).toMatchObject({
      id: `evt_${event.id}`,
      kind: 'halt.released',
      severity: 'info',
      desk: { id: deskA },
      title: 'Desk halt released',
      data: { scope: 'desk', auditId: event.data.auditId },
    });

    // Desk B: several scans and sends later, its member lists neither halt event and its
    // endpoint received nothing.
    await sleep(800);
    const bList = await deskB.member.alerts.list.query({});
    expect(bList.events.filter((e) => e.kind.startsWith('halt.'))).toEqual([]);
    expect(received.filter((r) => r.path === '/desk-b')).toEqual([]);
    expect(released('/desk-a')).toHaveLength(1);
  });

  it('a global halt released by the platform administrator reaches every desk, with the global scope', async () => {
    await platformAdmin.client.halt.engage.mutate({ scope: 'global', reason: 'global release drill' });
    await platformAdmin.client.halt.release.mutate({ scope: 'global' });

    // Each desk's notification and delivery: the global scope, its own desk.
    const deskA = t.admin.deskId;
    const inA = await waitUntil(
      () => releaser.client.alerts.list.query({}),
      (l) => l.events.some((e) => e.kind === 'halt.released' && e.data.scope === 'global'),
      "desk A's global released notification",
    );
    const inB = await waitUntil(
      () => deskB.member.alerts.list.query({}),
      (l) => l.events.some((e) => e.kind === 'halt.released'),
      "desk B's global released notification",
    );
    const a = inA.events.find((e) => e.kind === 'halt.released' && e.data.scope === 'global')!;
    const b = inB.events.filter((e) => e.kind === 'halt.released');
    expect(b).toHaveLength(1);
    for (const e of [a, b[0]!])
      expect(e).toMatchObject({
        severity: 'info',
        title: 'Global halt released',
        body: `global halt released by ${t.admin.email}`,
        data: { scope: 'global' },
      });
    // One audit row on the platform chain, the administrator its actor, behind both events.
    expect(b[0]!.data.auditId).toBe(a.data.auditId);
    expect(await auditRow(a.data.auditId)).toEqual({
      tenant_id: null,
      action: 'halt.release',
      actor_type: 'user',
      actor_id: platformAdmin.userId,
      target_id: 'global',
    });

    const toA = await waitUntil(
      () => released('/desk-a').filter((r) => (r.body.data as { scope?: string }).scope === 'global'),
      (rs) => rs.length > 0,
      "desk A's global delivery",
    );
    const toB = await waitUntil(
      () => released('/desk-b'),
      (rs) => rs.length > 0,
      "desk B's global delivery",
    );
    expect(toA[0]!.body).toMatchObject({ id: `evt_${a.id}`, desk: { id: deskA }, data: { scope: 'global' } });
    expect(toB[0]!.body).toMatchObject({
      id: `evt_${b[0]!.id}`,
      desk: { id: deskB.id },
      data: { scope: 'global' },
    });
    expect(toA[0]!.verified && toB[0]!.verified).toBe(true);
  });
});
