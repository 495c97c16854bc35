/**
 * Schema fuzzing through the real server. Every procedure of the router is listed from
 * `appRouter._def.procedures`; inputs are generated from its zod input schema (fuzz-arbitrary.ts)
 * and then broken one place at a time (fuzz-cases.ts): wrong types, missing and unknown keys
 * (`tenantId`, `__proto__`, `constructor`), control characters and NUL, strings and arrays past
 * their bound, boundary numbers, impossible dates. Each case goes over real HTTP (queries GET,
 * mutations POST, subscriptions opened and closed) as the desk admin's session, or its API key.
 *
 * Per case: no 5xx; a refusal of broken input is a 400 that names the damaged path; no committed
 * row changes when a call is refused (every table fingerprinted before and after, exactly).
 *
 * Procedures that would end the test's own session (logout, password change, revoking sessions,
 * password re-entry with wrong passwords, switching desk) run as a throwaway user's session,
 * signed in again whenever one of them succeeds. `auth.login` runs last and unauthenticated, so
 * the failed attempts it makes cannot throttle the sign-ins the setup needs.
 *
 * Seed: printed at the start; set AEGIS_FUZZ_SEED to replay a run.
 *
 * One file: one fuzz run over every procedure (the generators are in fuzz-arbitrary.ts and
 * fuzz-cases.ts); its checks share the server and the table fingerprints.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../src/routers/_app.ts';
import type { ProcedureMeta } from '../../src/trpc.ts';
import { resolveProcedureRule } from '../../src/trpc.ts';
import { arbitraryOf, type Schema } from './fuzz-arbitrary.ts';
import {
  type Broken,
  breaksFor,
  dotted,
  namesPath,
  RawJson,
  type ServerField,
  sitesOf,
  toJson,
} from './fuzz-cases.ts';
import { changedTables, type RowSnapshot, snapshotter, tableNames } from './row-snapshot.ts';
import { testExecution } from './support/test-execution.ts';
import { ORIGIN, signIn, startTestServer, type TestServer } from './test-server.ts';

const SEED = Number(process.env.AEGIS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TARGET_CASES = 340;

interface Proc {
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  input: Schema | undefined;
  meta: ProcedureMeta | undefined;
}

const PROCS: Proc[] = Object.entries(
  appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: Proc['type']; inputs: Schema[]; meta?: ProcedureMeta } }
  >,
).map(([path, p]) => ({ path, type: p._def.type, input: p._def.inputs[0], meta: p._def.meta }));

/** Run as the throwaway user: their success would end or change the caller's own session. */
const SELF_DESTRUCTIVE = new Set([
  'auth.logout',
  'auth.revokeSessions',
  'auth.switchDesk',
  'auth.changePassword',
  'auth.reauthenticate',
]);

type Who = 'session' | 'key' | 'throwaway' | 'anonymous';

interface Outcome {
  status: number;
  message: string;
  code: string | null;
  /** The domain error code; null for an input (zod) error or a success. */
  appCode: string | null;
  fields: ServerField[] | null;
}

interface Case {
  proc: Proc;
  who: Who;
  label: string;
  value: unknown;
  broken: Broken | null;
  /** Refusal statuses allowed for a must-refuse case (reference checks may answer 404). */
  accept?: number[];
  /** Paths of which the error must name one (finding cases with two fields at fault). */
  anyOf?: string[];
}

const tally = { cases: 0, ok2xx: 0, refused4xx: 0, named4xx: 0, unnamed4xx: 0, s5xx: 0, rowsChanged: 0 };
const failures: string[] = [];

let t: TestServer;
let cookie: string;
let throwawayCookie: string;
let throwaway: { email: string; password: string };
let apiKey: string;
let snapshot: () => Promise<RowSnapshot>;

const cookieOf = (jar: { header(): string | undefined }) => jar.header() ?? '';

beforeAll(async () => {
  process.stdout.write(`\nfuzz seed: ${SEED} (replay with AEGIS_FUZZ_SEED=${SEED})\n`);
  t = await startTestServer({
    rateLimiter: null,
    timeseriesUpkeep: false,
    // Nothing moves on its own: the test dispatches after an accepted call, so a row that changes
    // during a refused call was changed by that call.
    execution: testExecution({
      outboxIntervalMs: 3_600_000,
      paper: { seed: 5 },
    }),
    decisions: { consumeSignals: false, expirySweepMs: 3_600_000 },
    // The alert router writes events on its own after an accepted halt (alerts.* procedures
    // still run; only the background scan and sender are off).
    alerts: false,
  });
  await t.owner`insert into instruments (symbol, venue, asset_class, tick_size, lot_size, calendar) values
    ('BTC-USD', 'COINBASE', 'crypto', '0.01', '0.0001', '24x7'), ('ETH-USD', 'COINBASE', 'crypto', '0.01', '0.0001', '24x7')`;
  const admin = await signIn(t.url, t.admin.email, t.admin.password);
  await admin.client.auth.reauthenticate.mutate({ password: admin.password });
  cookie = cookieOf(admin.jar);
  apiKey = (await admin.client.keys.create.mutate({ name: 'fuzz', scopes: ['read', 'trade', 'admin'] })).key;
  const created = await admin.client.users.create.mutate({
    email: 'throwaway@example.com',
    displayName: 'Throwaway',
    role: 'viewer',
  });
  const tw = await signIn(t.url, 'throwaway@example.com', created.oneTimePassword!);
  throwaway = { email: 'throwaway@example.com', password: tw.password };
  throwawayCookie = cookieOf(tw.jar);
  const ex = t.server.deps.execution!;
  ex.quotes.setQuote('BTC-USD', '50000', '50010', '10', '10', new Date());
  ex.quotes.setQuote('ETH-USD', '3000', '3001', '100', '100', new Date());
  snapshot = snapshotter(t.owner, await tableNames(t.owner));
}, 120_000);

afterAll(async () => {
  await t?.close();
});

// ------------------------------------------------------------------------------------------
// Transport: raw HTTP, as a hostile client would send it.
// ------------------------------------------------------------------------------------------

function headersFor(who: Who, method: string): Record<string, string> {
  const h: Record<string, string> = {};
  if (method === 'POST') h['content-type'] = 'application/json';
  if (who === 'key') h.authorization = `Bearer ${apiKey}`;
  else {
    h.origin = ORIGIN;
    if (who === 'session') h.cookie = cookie;
    if (who === 'throwaway') h.cookie = throwawayCookie;
  }
  return h;
}

function parseError(status: number, text: string): Outcome {
  try {
    const body = JSON.parse(text) as {
      error?: {
        message?: string;
        data?: {
          code?: string;
          appCode?: string | null;
          fields?: ServerField[] | null;
          details?: { problems?: { index: number; field: string; message: string }[] } | null;
        };
      };
    };
    const e = body.error;
    // orderflow.ingest names each bad event's field in details.problems (index within `events`).
    const problems = (e?.data?.details?.problems ?? []).map((p) => ({
      path: p.field === '(event)' ? `events.${p.index}` : `events.${p.index}.${p.field}`,
      message: p.message,
    }));
    const fields = [...(e?.data?.fields ?? []), ...problems];
    return {
      status,
      message: e?.message ?? '',
      code: e?.data?.code ?? null,
      appCode: e?.data?.appCode ?? null,
      fields: fields.length > 0 ? fields : null,
    };
  } catch {
    return { status, message: text.slice(0, 300), code: null, appCode: null, fields: null };
  }
}

async function send(proc: Proc, who: Who, value: unknown): Promise<Outcome> {
  const json = value === undefined ? undefined : toJson(value);
  const base = `${t.url}/trpc/${proc.path}`;
  if (proc.type === 'mutation') {
    const res = await fetch(base, {
      method: 'POST',
      headers: headersFor(who, 'POST'),
      ...(json === undefined ? {} : { body: json }),
    });
    return parseError(res.status, await res.text());
  }
  const url = json === undefined ? base : `${base}?input=${encodeURIComponent(json)}`;
  if (proc.type === 'query') {
    const res = await fetch(url, { headers: headersFor(who, 'GET') });
    return parseError(res.status, await res.text());
  }
  return openSubscription(url, who);
}

/**
 * A subscription is opened over SSE and closed once the server has judged it. The stream starts
 * with `connected`; whether the procedure then accepted or refused the call is read from the
 * server's own log line for this request (`call ok` / `call refused`, by the x-request-id), so
 * nothing depends on how long we wait. A refusal arrives as a `serialized-error` event.
 */
async function openSubscription(url: string, who: Who): Promise<Outcome> {
  const abort = new AbortController();
  try {
    const res = await fetch(url, {
      headers: { ...headersFor(who, 'GET'), accept: 'text/event-stream' },
      signal: abort.signal,
    });
    if (!res.headers.get('content-type')?.includes('text/event-stream')) {
      return parseError(res.status, await res.text());
    }
    const requestId = res.headers.get('x-request-id');
    const verdict = await logVerdict(requestId);
    if (verdict === 'ok') return { status: 200, message: '', code: null, appCode: null, fields: null };
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done)
        return {
          status: 599,
          message: 'stream ended without an error event',
          code: null,
          appCode: null,
          fields: null,
        };
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^event: serialized-error$/m.test(event)) {
          const data = JSON.parse(
            event
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n'),
          ) as { data?: { httpStatus?: number } };
          return parseError(data.data?.httpStatus ?? 599, JSON.stringify({ error: data }));
        }
      }
    }
  } finally {
    abort.abort();
  }
}

/** The server's verdict on one request, from its log (bounded poll: a missing line fails). */
async function logVerdict(requestId: string | null): Promise<'ok' | 'refused'> {
  for (let i = 0; i < 400; i++) {
    for (const l of t.logs) {
      if (l.requestId !== requestId) continue;
      if (l.msg === 'call ok') return 'ok';
      if (typeof l.msg === 'string' && /^call (refused|failed)/.test(l.msg)) return 'refused';
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no verdict logged for request ${requestId}`);
}

// ------------------------------------------------------------------------------------------
// Case generation
// ------------------------------------------------------------------------------------------

/** A seeded PRNG for choosing breaks (mulberry32), so the seed replays the whole run. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return {
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}

function keyAllowed(p: Proc): boolean {
  if (!p.meta || p.meta.permission === 'public') return false;
  for (const level of ['desk', 'not-desk'] as const) {
    try {
      const rule = resolveProcedureRule(p.meta, p.path, level);
      return !rule.humanOnly && !rule.reauth;
    } catch {
      // declared for the other level
    }
  }
  return false;
}

function whoFor(p: Proc, rnd: ReturnType<typeof prng>): Who {
  if (p.path === 'auth.login') return 'anonymous';
  if (SELF_DESTRUCTIVE.has(p.path)) return 'throwaway';
  return keyAllowed(p) && rnd.chance(0.3) ? 'key' : 'session';
}

/** Generated cases: per procedure one schema-valid input, then broken copies of others. */
function generatedCases(): Case[] {
  const rnd = prng(SEED);
  const withInput = PROCS.filter((p) => p.input !== undefined);
  const perProc = Math.ceil(TARGET_CASES / withInput.length);
  const cases: Case[] = [];
  for (const proc of PROCS) {
    if (!proc.input) {
      // No input parser (a few subscriptions): opened and closed once.
      cases.push({ proc, who: 'session', label: 'no input', value: undefined, broken: null });
      continue;
    }
    const bases = fc.sample(arbitraryOf(proc.input), { seed: SEED ^ hash(proc.path), numRuns: perProc });
    bases.forEach((base, i) => {
      const who = whoFor(proc, rnd);
      // Password-taking procedures only get broken inputs: a well-formed wrong password counts
      // against the throttle the test's own sign-ins depend on.
      if (i === 0 && !/password|reauthenticate|login/i.test(proc.path)) {
        if (proc.path === 'auth.revokeSessions' && (base as { all?: boolean })?.all) return;
        cases.push({ proc, who, label: 'generated', value: base, broken: null });
        return;
      }
      const root = base === undefined ? {} : base;
      const maxChars = proc.type === 'mutation' ? 900_000 : 6_000;
      const all = sitesOf(proc.input!, root).flatMap((s) => breaksFor(root, s, { maxChars, ...rnd }));
      if (all.length === 0) return;
      const broken = rnd.pick(all);
      cases.push({ proc, who, label: broken.label, value: broken.value, broken });
    });
  }
  return cases;
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

const proc = (path: string) => {
  const p = PROCS.find((x) => x.path === path);
  if (!p) throw new Error(`no procedure ${path}`);
  return p;
};

/** The issue's reproduced findings, as fixed cases (they must be refused naming the field). */
function findingCases(): Case[] {
  const now = Date.now();
  const quote = (tsEvent: string) => ({
    kind: 'quote',
    instrument: 'BTC-USD',
    venue: 'COINBASE',
    tsEvent,
    source: 'fuzz',
    sequence: 1,
    bid: '62.26',
    ask: '62.27',
    bidSize: '1',
    askSize: '1',
  });
  const order = { symbol: 'BTC-USD', side: 'buy', orderType: 'market', timeInForce: 'day', quantity: '0.1' };
  const outcome = {
    instrument: 'BTC-USD',
    side: 'buy',
    quantity: '1',
    entryPrice: '100',
    exitPrice: '101',
    openedAt: new Date(now - 3_600_000).toISOString(),
    closedAt: new Date(now - 60_000).toISOString(),
  };
  const must = (
    path: string,
    who: Who,
    label: string,
    value: unknown,
    at: (string | number)[],
    extra?: string,
    accept?: number[],
    anyOf?: string[],
  ): Case => ({
    proc: proc(path),
    who,
    label: `finding: ${label}`,
    value,
    broken: { label, value, path: at, mustRefuse: true, ...(extra ? { extraKey: extra } : {}) },
    ...(accept ? { accept } : {}),
    ...(anyOf ? { anyOf } : {}),
  });
  const proto = JSON.parse('{"__proto__": {"isAdmin": true}}') as object;
  return [
    must(
      'signals.decide',
      'session',
      'NUL in note',
      { signalId: randomUUID(), decision: 'note', note: 'a\u0000b' },
      ['note'],
    ),
    must('trades.recordOutcome', 'session', 'NUL in instrument', { ...outcome, instrument: 'BTC\u0000USD' }, [
      'instrument',
    ]),
    must(
      'orders.place',
      'session',
      'tenantId inside the order',
      { idempotencyKey: randomUUID(), order: { ...order, tenantId: randomUUID() } },
      ['order'],
      'tenantId',
    ),
    must(
      'orders.place',
      'key',
      '__proto__ inside the order',
      { idempotencyKey: randomUUID(), order: Object.assign(Object.create(null), order, proto) },
      ['order'],
      '__proto__',
    ),
    must(
      'orders.place',
      'session',
      "proposalId that is not the desk's",
      { idempotencyKey: randomUUID(), order: { ...order, proposalId: randomUUID() } },
      ['order', 'proposalId'],
      undefined,
      [400, 404, 422],
    ),
    must(
      'risk.limits.set',
      'session',
      'limits for an instrument that does not exist',
      // Not one the arbitraries draw: the fuzzed instruments.upsert may have created NOPE-USD.
      { symbol: 'NEVER-LISTED', maxOrderQty: '100' },
      ['symbol'],
      undefined,
      [400, 404, 422],
    ),
    must(
      'trades.recordOutcome',
      'session',
      'closedAt before openedAt',
      { ...outcome, openedAt: outcome.closedAt, closedAt: outcome.openedAt },
      ['closedAt'],
      undefined,
      undefined,
      ['closedAt', 'openedAt'],
    ),
    must('orderflow.ingest', 'session', 'event dated 1970', { events: [quote('1970-01-01T00:00:00Z')] }, [
      'events',
      0,
      'tsEvent',
    ]),
    must(
      'orderflow.ingest',
      'key',
      'quote dated 50 minutes ahead',
      { events: [quote(new Date(now + 50 * 60_000).toISOString())] },
      ['events', 0, 'tsEvent'],
    ),
    must(
      'orderflow.ingest',
      'session',
      'unknown key in an event',
      { events: [{ ...quote(new Date(now).toISOString()), tenantId: randomUUID() }] },
      ['events', 0],
      'tenantId',
    ),
    must(
      'orderflow.ingest',
      'session',
      'unknown key at the top',
      { events: [quote(new Date(now).toISOString())], tenantId: randomUUID() },
      [],
      'tenantId',
    ),
    must(
      'orderflow.ingest',
      'session',
      'price not a number',
      { events: [{ ...quote(new Date(now).toISOString()), bid: 'NaN' }] },
      ['events', 0, 'bid'],
    ),
    must(
      'orders.place',
      'session',
      'quantity 1e400 as a number token',
      { idempotencyKey: randomUUID(), order: { ...order, quantity: new RawJson('1e400') } },
      ['order', 'quantity'],
    ),
    // Last: they may throttle this machine's sign-ins.
    must(
      'auth.login',
      'anonymous',
      'NUL in email',
      { email: 'admin\u0000@example.com', password: 'whatever-password-1' },
      ['email'],
    ),
    must(
      'auth.login',
      'anonymous',
      'tenantId beside the credentials',
      { email: 'a@example.com', password: 'whatever-password-1', tenantId: randomUUID() },
      [],
      'tenantId',
    ),
  ];
}

/** Does a domain error's message name one of the input's keys ("invalid last event id" names lastEventId)? */
function mentionsAKey(message: string, value: unknown): boolean {
  const squash = (x: string) => x.toLowerCase().replace(/[^a-z0-9]/g, '');
  const text = squash(message);
  const keys = new Set<string>();
  const walk = (v: unknown) => {
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      keys.add(k);
      walk(x);
    }
  };
  walk(value);
  return [...keys].some((k) => squash(k).length > 1 && text.includes(squash(k)));
}

/**
 * Whether the schema's own issues include the broken place (or a place inside or around it). A
 * break the schema accepts there (a "wrong type" that is another branch of a union, say) refuses
 * nothing at that place: the refusal is then judged on the places the schema does name.
 */
function localCovers(local: readonly string[], path: (string | number)[]): boolean {
  const bp = dotted(path);
  return local.some((p) => p === bp || p.startsWith(`${bp}.`) || bp.startsWith(`${p}.`) || p === '(input)');
}

/** Local verdict of the procedure's own schema (what the server parses: the JSON as sent). */
function localIssues(p: Proc, value: unknown): string[] | null {
  if (!p.input) return null;
  const sent = value === undefined ? undefined : JSON.parse(toJson(value));
  const r = (
    p.input as unknown as {
      safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[] }[] } };
    }
  ).safeParse(sent);
  return r.success
    ? null
    : r.error!.issues.map((i) => dotted(i.path.map((k) => (typeof k === 'symbol' ? String(k) : k))));
}

// ------------------------------------------------------------------------------------------
// Running and judging
// ------------------------------------------------------------------------------------------

let before: RowSnapshot;

async function reSignInThrowaway(): Promise<void> {
  const s = await signIn(t.url, throwaway.email, throwaway.password);
  throwawayCookie = cookieOf(s.jar);
}

async function settle(): Promise<void> {
  const ex = t.server.deps.execution!;
  await ex.dispatcher.dispatchTenant(t.admin.deskId);
  await ex.brokers.drain();
}

async function runCase(c: Case): Promise<void> {
  tally.cases++;
  const out = await send(c.proc, c.who, c.value);
  const id = `${c.proc.path} [${c.who}] ${c.label}`;
  const local = localIssues(c.proc, c.value);
  const mustRefuse = (c.broken?.mustRefuse ?? false) || local !== null;

  if (out.status >= 500) {
    tally.s5xx++;
    failures.push(`5xx ${out.status}: ${id}: ${out.message.slice(0, 200)}`);
  } else if (out.status >= 400) {
    tally.refused4xx++;
    let named: boolean;
    if (c.anyOf) named = c.anyOf.some((p) => namesPath(out.fields, out.message, { path: p.split('.') }));
    else if (c.broken && (local === null ? c.broken.mustRefuse : localCovers(local, c.broken.path)))
      named = namesPath(out.fields, out.message, c.broken);
    else if (local)
      named = local.some((p) =>
        namesPath(out.fields, out.message, { path: p === '(input)' ? [] : p.split('.') }),
      );
    else named = out.status !== 400 || (out.fields?.length ?? 0) > 0 || mentionsAKey(out.message, c.value);
    if (out.status === 400 || mustRefuse) {
      if (named) tally.named4xx++;
      else {
        tally.unnamed4xx++;
        failures.push(
          `refused without naming ${c.broken ? dotted(c.broken.path) + (c.broken.extraKey ? `.${c.broken.extraKey}` : '') : 'a field'}: ${id}: ${out.status} ${out.message.slice(0, 200)}`,
        );
      }
    }
    const allowed = c.accept ?? [400];
    if (mustRefuse && !allowed.includes(out.status) && named)
      failures.push(`refused with ${out.status} ${out.code}, expected ${allowed.join('/')}: ${id}`);
    if (mustRefuse && !allowed.includes(out.status) && !named && out.status !== 400)
      failures.push(
        `refused for another reason (${out.status} ${out.code}: ${out.message.slice(0, 120)}) before its input was judged: ${id}`,
      );
  } else {
    tally.ok2xx++;
    if (mustRefuse)
      failures.push(
        `accepted though it must be refused (${c.broken ? dotted(c.broken.path) : local?.join(',')}): ${id}`,
      );
  }

  // Rows: a refused call changes nothing. A refusal decided after the input was parsed (a domain
  // error: appCode set) may leave its own record: an audit row saying it failed or was denied,
  // and the idempotency record that replays the same refusal for a retried key.
  if (out.status >= 400) {
    const after = await snapshot();
    const changed = changedTables(before, after);
    if (changed.length > 0 && !(out.appCode !== null && (await onlyRefusalRecords(changed, before, after)))) {
      tally.rowsChanged++;
      failures.push(
        `rows changed by a refused call (${changed.join(', ')}): ${id}: ${out.status} ${out.message.slice(0, 120)}`,
      );
    }
    before = after;
  } else {
    if (c.proc.type === 'mutation') await settle();
    if (c.who === 'throwaway' && c.proc.type === 'mutation') await reSignInThrowaway();
    before = await snapshot();
  }
}

/** True when every row version new since `before` records a refusal (and none was removed). */
async function onlyRefusalRecords(
  changed: string[],
  before: RowSnapshot,
  after: RowSnapshot,
): Promise<boolean> {
  for (const table of changed) {
    const [n0, x0] = before.get(table)!.split('/');
    const [n1] = after.get(table)!.split('/');
    if (table === 'api_keys') {
      // A subscription is authorized in its own committed transaction before its body runs, and
      // that records the key's use (once a minute, trpc/tenant-transaction.ts): a use, not a write
      // by the refused call. Allowed when no key row appeared or vanished and every new row
      // version is such a touch from just now.
      const touched = await t.owner<{ use: boolean }[]>`
        select last_used_at > now() - interval '1 minute' as use from api_keys where xmin::text::bigint > ${x0!}`;
      if (n1 !== n0 || !touched.every((r) => r.use)) return false;
      continue;
    }
    const fresh =
      table === 'audit_log'
        ? await t.owner<{ refusal: boolean }[]>`
            select outcome in ('failed', 'denied') as refusal from audit_log where xmin::text::bigint > ${x0!}`
        : table === 'idempotency_keys'
          ? await t.owner<{ refusal: boolean }[]>`
              select coalesce(response->>'ok' = 'false', false) as refusal from idempotency_keys
              where xmin::text::bigint > ${x0!}`
          : null;
    if (!fresh || Number(n1) - Number(n0) !== fresh.length || !fresh.every((r) => r.refusal)) return false;
  }
  return true;
}

describe('fuzz: every procedure, inputs generated from its schema and broken', () => {
  it(`${TARGET_CASES}+ cases: no 5xx, every refusal names the field, no row changed by a refusal`, async () => {
    const generated = generatedCases();
    const order = (c: Case) => (c.proc.path === 'auth.login' ? 2 : c.who === 'throwaway' ? 1 : 0);
    const findings = findingCases();
    const cases = [...generated, ...findings].sort((a, b) => order(a) - order(b));
    expect(new Set(cases.map((c) => c.proc.path)).size).toBe(PROCS.length);
    expect(cases.length).toBeGreaterThanOrEqual(300);
    before = await snapshot();
    for (const c of cases) await runCase(c);

    process.stdout.write(
      `\nfuzz tally (seed ${SEED}, ${PROCS.length} procedures)\n` +
        `  cases                         ${tally.cases}\n` +
        `  2xx                           ${tally.ok2xx}\n` +
        `  4xx                           ${tally.refused4xx}\n` +
        `  4xx naming the field          ${tally.named4xx}\n` +
        `  4xx not naming the field      ${tally.unnamed4xx}\n` +
        `  5xx                           ${tally.s5xx}\n` +
        `  rows changed by a refusal     ${tally.rowsChanged}\n` +
        `  failures                      ${failures.length}\n` +
        failures.map((f) => `    - ${f}\n`).join(''),
    );
    expect(failures).toEqual([]);
  }, 150_000);
});
