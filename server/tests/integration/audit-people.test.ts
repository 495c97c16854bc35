import { asTenantId } from '@aegis/shared/ids';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformTx } from '../../src/audit/desk-view.ts';
import { startVerifyJob } from '../../src/audit/verify-job.ts';
import { withTenant } from '../../src/db/database.ts';
import { addMember, onDesk, type SignedIn, startWithAdmin } from './support/desk-people.ts';
import { failure, makeClient, STRONG_PASSWORD, signIn, type TestServer } from './test-server.ts';

/**
 * The desk's audit view for people: actors by name, the members' sign-ins and password changes
 * and global halts read from the platform chain and merged by time, never another desk's
 * members' events; action filters, time-ordered pagination across both chains, CSV export.
 */
let ts: TestServer;
let admin: SignedIn;
let deskB: string;
const GRACE = { email: 'grace@desk.example', password: 'maple-orbit-cascade-61' };
const BOB = { email: 'bob@other.example', password: 'cobalt-river-lantern-83' };

type Row = { chain: string; seq: number; ts: string; action: string; actorId: string | null };
const key = (e: { chain: string; seq: number }) => `${e.chain}:${e.seq}`;

/** Minimal RFC 4180 reader (quoted cells, doubled quotes, CRLF records). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

beforeAll(async () => {
  ({ ts, admin } = await startWithAdmin());
  await addMember(admin.client, GRACE, 'Grace Hopper', 'trader');
  deskB = (await admin.client.desks.create.mutate({ name: 'Other desk' })).id;
  await onDesk(admin.client, deskB, ts.admin.deskId, () =>
    addMember(admin.client, BOB, 'Bob Other', 'trader'),
  );
});

afterAll(async () => {
  await ts?.close();
});

describe("a desk's audit view for people", () => {
  let grace: Awaited<ReturnType<typeof signIn>>;
  let bobId: string;

  it("shows a member's failed and successful sign-ins and password change, by name", async () => {
    const anon = makeClient(ts.url);
    await failure(anon.auth.login.mutate({ email: GRACE.email, password: 'wrong-wrong-wrong-1' }));
    // First sign-in: the initial password must change (an auth.change_password row).
    grace = await signIn(ts.url, GRACE.email, GRACE.password, `${STRONG_PASSWORD}-g`);
    const bob = await signIn(ts.url, BOB.email, BOB.password, `${STRONG_PASSWORD}-b`);
    bobId = bob.user.id;
    await failure(anon.auth.login.mutate({ email: BOB.email, password: 'wrong-wrong-wrong-2' }));

    const page = await admin.client.audit.list.query({ limit: 200 });
    const mine = page.items.filter((e) => e.actorId === grace.user.id && e.chain === 'platform');
    expect(mine.map((e) => [e.action, e.outcome])).toEqual([
      ['auth.change_password', 'ok'],
      ['auth.login', 'ok'],
      ['auth.login', 'failed'],
    ]);
    expect(mine.every((e) => e.actorName === 'Grace Hopper' && e.tenantId === null)).toBe(true);
    // Desk rows are named too: the admin created Grace.
    const created = page.items.find((e) => e.action === 'users.create')!;
    expect(created).toMatchObject({ chain: 'desk', actorId: admin.user.id, tenantId: ts.admin.deskId });
    expect(created.actorName).not.toMatch(/^user:|^unknown/);
    // Newest first by time across both chains.
    const times = page.items.map((e) => e.ts);
    expect(times).toEqual([...times].sort().reverse());
    // Another desk's member never appears, neither her sign-ins nor the failed one.
    expect(page.items.some((e) => e.actorId === bobId)).toBe(false);
    expect(JSON.stringify(page.items)).not.toContain('Bob Other');
  });

  it('shows the other desk its own member, and not ours', async () => {
    await onDesk(admin.client, deskB, ts.admin.deskId, async () => {
      const b = await admin.client.audit.list.query({ action: 'auth.', limit: 200 });
      expect(b.items.some((e) => e.actorId === bobId && e.action === 'auth.login')).toBe(true);
      expect(b.items.some((e) => e.actorId === grace.user.id)).toBe(false);
    });
  });

  it('filters by exact action and by prefix (auth.login, auth., auth*)', async () => {
    const exact = await admin.client.audit.list.query({ action: 'auth.login', limit: 200 });
    expect(exact.items.length).toBeGreaterThanOrEqual(3);
    expect(exact.items.every((e) => e.action === 'auth.login')).toBe(true);
    expect(exact.items.some((e) => e.actorId === grace.user.id && e.outcome === 'failed')).toBe(true);

    const prefix = await admin.client.audit.list.query({ action: 'auth.', limit: 200 });
    expect(prefix.items.every((e) => e.action.startsWith('auth.'))).toBe(true);
    expect(prefix.items.map((e) => e.action)).toEqual(
      expect.arrayContaining(['auth.login', 'auth.change_password']),
    );
    const star = await admin.client.audit.list.query({ action: 'auth*', limit: 200 });
    expect(star.items.map(key)).toEqual(prefix.items.map(key));

    const deskOnly = await admin.client.audit.list.query({ chain: 'desk', limit: 200 });
    expect(deskOnly.items.length).toBeGreaterThan(0);
    expect(deskOnly.items.every((e) => e.chain === 'desk' && e.tenantId === ts.admin.deskId)).toBe(true);
  });

  it("shows a global halt and its release in every desk's view", async () => {
    await admin.client.auth.reauthenticate.mutate({ password: admin.password });
    await admin.client.halt.engage.mutate({ scope: 'global', reason: 'people-audit drill' });
    await admin.client.halt.release.mutate({ scope: 'global' });
    for (const desk of [ts.admin.deskId, deskB]) {
      await admin.client.auth.switchDesk.mutate({ deskId: desk });
      const halts = await admin.client.audit.list.query({ action: 'halt.', chain: 'platform' });
      expect(halts.items.map((e) => e.action)).toEqual(['halt.release', 'halt.engage']);
      expect(halts.items.every((e) => e.tenantId === null && e.actorName !== '')).toBe(true);
    }
    await admin.client.auth.switchDesk.mutate({ deskId: ts.admin.deskId });
  });

  it('pages through both chains with the cursor, each row once, in the same order', async () => {
    // Desk rows between the platform ones: two keys created (keys.create on the desk chain).
    await admin.client.keys.create.mutate({ name: 'ci-bot', scopes: ['read'] });
    await admin.client.keys.create.mutate({ name: 'ci-bot-2', scopes: ['read'] });
    const all = (await admin.client.audit.list.query({ limit: 200 })).items;
    expect(new Set(all.map((e) => e.chain))).toEqual(new Set(['desk', 'platform']));
    const seen: Row[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Row[]; nextCursor: string | null } = await admin.client.audit.list.query({
        limit: 3,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map(key)).toEqual(all.map(key));

    // The older seq-only cursor (desk chain) still reads on from that desk row.
    const deskRows = all.filter((e) => e.chain === 'desk');
    const pivot = deskRows[1]!;
    const legacy = Buffer.from(`s:${pivot.seq}`, 'utf8').toString('base64url');
    const after = await admin.client.audit.list.query({ cursor: legacy, limit: 200 });
    expect(after.items.length).toBeGreaterThan(0);
    expect(after.items.every((e) => e.ts <= pivot.ts)).toBe(true);
    expect(after.items.filter((e) => e.chain === 'desk').map((e) => e.seq)).toEqual(
      deskRows.filter((e) => e.seq < pivot.seq).map((e) => e.seq),
    );
    // sinceSeq follows the desk chain only.
    const since = await admin.client.audit.list.query({ sinceSeq: pivot.seq });
    expect(since.items.every((e) => e.chain === 'desk' && e.seq > pivot.seq)).toBe(true);
  });

  it('exports the filtered rows as CSV, the same rows as the list', async () => {
    const list = await admin.client.audit.list.query({ action: 'auth.', limit: 200 });
    const out = await admin.client.audit.export.query({ action: 'auth.' });
    expect(out).toMatchObject({ truncated: false, rows: list.items.length });
    expect(out.filename).toMatch(/^aegis-audit-desk-\d{4}-\d{2}-\d{2}-\d{6}\.csv$/);
    const [header, ...rows] = parseCsv(out.csv);
    expect(header).toEqual(expect.arrayContaining(['ts', 'chain', 'seq', 'actor_name', 'hash']));
    const col = (name: string) => header!.indexOf(name);
    expect(rows.map((r) => `${r[col('chain')]}:${r[col('seq')]}`)).toEqual(list.items.map(key));
    expect(rows.map((r) => r[col('actor_name')])).toEqual(list.items.map((e) => e.actorName));
    expect(rows.map((r) => r[col('hash')])).toEqual(list.items.map((e) => e.hash));
    expect(rows.some((r) => r[col('actor_name')] === 'Grace Hopper')).toBe(true);

    const whole = await admin.client.audit.export.query();
    const wholeList = await admin.client.audit.list.query({ limit: 200 });
    expect(whole.rows).toBe(wholeList.items.length);
  });

  it('keeps both chains verifiable, and refuses the list and export to a trader', async () => {
    expect(await admin.client.audit.verify.query()).toMatchObject({ ok: true, tenantId: ts.admin.deskId });
    expect(await admin.client.audit.platformVerify.query()).toMatchObject({ ok: true, tenantId: null });
    const platform = await admin.client.audit.platformList.query({ action: 'auth.login', limit: 200 });
    expect(platform.items.every((e) => e.chain === 'platform' && typeof e.actorName === 'string')).toBe(true);
    expect(platform.items.some((e) => e.actorId === bobId && e.actorName === 'Bob Other')).toBe(true);
    expect((await failure(grace.client.audit.list.query())).data?.code).toBe('FORBIDDEN');
    expect((await failure(grace.client.audit.export.query())).data?.code).toBe('FORBIDDEN');
  });

  it('verifies a chain in the background with progress; another desk cannot read the job', async () => {
    type Job = Awaited<ReturnType<typeof admin.client.audit.verifyProgress.query>>;
    const waitDone = async (read: () => Promise<Job>) => {
      let job = await read();
      for (let i = 0; i < 200 && job.status === 'running'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        job = await read();
      }
      return job;
    };
    const sync = await admin.client.audit.verify.query();
    const { jobId, total } = await admin.client.audit.verifyStart.mutate({});
    expect(total).toBeGreaterThanOrEqual(sync.rows);
    const done = await waitDone(() => admin.client.audit.verifyProgress.query({ jobId }));
    expect(done).toMatchObject({ status: 'succeeded', tenantId: ts.admin.deskId, result: { ok: true } });
    expect(done.checked).toBe(done.total);
    expect(done.result!.rows).toBeGreaterThanOrEqual(sync.rows);

    await onDesk(admin.client, deskB, ts.admin.deskId, async () => {
      const other = await failure(admin.client.audit.verifyProgress.query({ jobId }));
      expect(other.data?.code).toBe('NOT_FOUND');
    });

    const platform = await admin.client.audit.platformVerifyStart.mutate({});
    const pDone = await waitDone(() =>
      admin.client.audit.platformVerifyProgress.query({ jobId: platform.jobId }),
    );
    expect(pDone).toMatchObject({ status: 'succeeded', tenantId: null, result: { ok: true } });

    // Tampering (table-owner access): the background job reports where the chain breaks.
    await ts.owner`update audit_log set details = 'nothing happened' where tenant_id = ${ts.admin.deskId} and seq = 2`;
    const broken = await admin.client.audit.verifyStart.mutate({});
    const bDone = await waitDone(() => admin.client.audit.verifyProgress.query({ jobId: broken.jobId }));
    expect(bDone).toMatchObject({
      status: 'succeeded',
      result: { ok: false, brokenAtSeq: 2, reason: 'hash_mismatch' },
    });
    expect((await failure(grace.client.audit.verifyStart.mutate({}))).data?.code).toBe('FORBIDDEN');
  });

  it('walks a chain longer than a page in the background, reporting rows checked as it goes', async () => {
    const { db, log } = ts.server.deps;
    const poll = async (read: () => Promise<{ status: string; checked: number; total: number }>) => {
      const seen: number[] = [];
      let job = await read();
      for (let i = 0; i < 400 && job.status === 'running'; i++) {
        seen.push(job.checked);
        await new Promise((r) => setTimeout(r, 10));
        job = await read();
      }
      return { job, seen };
    };
    // Platform chain (intact), 2 rows a page.
    const p = await platformTx(db, (tx) =>
      startVerifyJob(tx, db, log, { tenantId: null, owner: 'test', pageSize: 2 }),
    );
    expect(p.total).toBeGreaterThan(4);
    const { job, seen } = await poll(() =>
      admin.client.audit.platformVerifyProgress.query({ jobId: p.jobId }),
    );
    expect(job).toMatchObject({
      status: 'succeeded',
      checked: p.total,
      total: p.total,
      result: { ok: true },
    });
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.every((n) => n <= p.total)).toBe(true);

    // The desk chain, tampered at seq 2 above: the paged walk finds the same break.
    const d = await withTenant(db, ts.admin.deskId, (tx) =>
      startVerifyJob(tx, db, log, { tenantId: asTenantId(ts.admin.deskId), owner: 'test', pageSize: 2 }),
    );
    const desk = await poll(() => admin.client.audit.verifyProgress.query({ jobId: d.jobId }));
    expect(desk.job).toMatchObject({
      status: 'succeeded',
      result: { ok: false, brokenAtSeq: 2, reason: 'hash_mismatch' },
    });
  });
});
