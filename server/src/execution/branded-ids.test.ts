// Over 400 lines on purpose: every compile-time check of the branded ids in one place, one
// describe per area (orders, proposals, people and keys, the execution runtime and its core,
// audit, OAuth, the broker adapters), so a signature that goes back to plain strings fails here
// whichever module it is in.
import {
  asApiKeyId,
  asComboId,
  asOrderId,
  asProposalId,
  asSignalId,
  asTenantId,
  asUserId,
  type TenantId,
} from '@aegis/shared/ids';
import { describe, expect, it } from 'vitest';
import type { alreadySkipped } from '../agent/skips.ts';
import { alertFeedChannel } from '../alerts/channels.ts';
import type { bindingOf as webhookBindingOf } from '../alerts/delivery-sender.ts';
import type { markRead, unreadCount } from '../alerts/store.ts';
import type { ChainedFields } from '../audit/chain.ts';
import type { audit, RecordedAudit, recordBatch, VerifyResult } from '../audit/service.ts';
import type { chainLength, readVerifyJob, startVerifyJob, VerifyJobView } from '../audit/verify-job.ts';
import type { ApiKeyListItem, createApiKey, listApiKeys, revokeApiKey } from '../auth/api-keys.ts';
import type { AuthCache } from '../auth/auth-cache.ts';
import type { roleOnDesk } from '../auth/memberships.ts';
import type { credentialSourceFor } from '../auth/oauth/credentials.ts';
import type { bindingOf, clientSecretOpener, settleAccount } from '../auth/oauth/link-service.ts';
import type { endpointsFor, providerCatalogue, resolveOAuthProvider } from '../auth/oauth/providers.ts';
import type { unlinkConnection } from '../auth/oauth/unlink.ts';
import type { ApiKeyRecord, SessionRecord } from '../auth/principal.ts';
import {
  type CreateSessionInput,
  type invalidateOwnSession,
  type invalidateSession,
  type invalidateUserSessions,
  sessionIdOf,
  type setSessionActiveTenant,
} from '../auth/session.ts';
import type { AdapterFactory, ConnectionContext } from '../brokers/connection.ts';
import type { ConnectionRow } from '../brokers/factory.ts';
import type { BracketRequest } from '../brokers/types.ts';
import type { readHedgeSettings } from '../hedging/store.ts';
import type { queryLessons, recordOutcome } from '../lessons/service.ts';
import type { RecommendCaller } from '../options/rate-limits.ts';
import type { getProposalRow, insertProposal } from '../proposals/store.ts';
import type { DecideRequest, idempotencyKeyOf, ProposalWorkflow } from '../proposals/workflow.ts';
import type { FoundUser, listAllDesks } from '../provisioning/find-user.ts';
import type { createUser, disableUser, listMembers } from '../provisioning/service.ts';
import type { decisionsOf } from '../signals/service.ts';
import { decisionStreams } from '../signals/streams.ts';
import type { DeskContext } from '../trpc/tenant-transaction.ts';
import type { bracketRequestOf, endUnsentLegs, legsOf, legsOfEntries } from './bracket-legs.ts';
import type { BrokerRegistry, BrokerRegistryHooks, loadConnectionRow } from './broker-registry.ts';
import type { dispatchComboCancel, dispatchComboPlace } from './combo-dispatch.ts';
import {
  type comboLegs,
  combosSentSince,
  type legsOfCombos,
  type loadCombo,
  type syncCombo,
} from './combo-rows.ts';
import type { ComboHooks, ComboService, getCombo } from './combo-service.ts';
import type { Halts } from './halt.ts';
import type { haltLatch } from './halt-latch.ts';
import { resourceOf } from './leases.ts';
import type { getOrderDetail } from './order-detail.ts';
import type { NewOrderSource } from './order-rows.ts';
import type { OutboxDispatcher } from './outbox.ts';
import type { getOrderWithFills, listPositions } from './queries.ts';
import type { ReconcileReport, Reconciler } from './reconcile.ts';
import type { enterReducingOnly, readReducingOnly } from './reducing-only.ts';
import type { applyExecutionReport, applyExecutionReports } from './reports.ts';
import type { loadBatchRiskInputs, loadLimits, readHalt } from './risk-context.ts';
import type { ExecutionRuntime } from './runtime.ts';
import type { OrderPlacementHooks, OrderService } from './service.ts';
import { orderUpdatesChannel, positionUpdatesChannel } from './types.ts';
import type {
  dailyBase,
  markedLegs,
  positionRows,
  sessionStartOf,
  valueDesk,
  writeEquitySnapshot,
} from './valuation.ts';

/*
 * The ids' brands are checked by the compiler (`npm run typecheck`): each `@ts-expect-error`
 * below is itself an error if the swapped call ever compiles, e.g. after a signature goes back to
 * plain strings. At run time a branded id is the string it was made from.
 */
type Cancel = OrderService['cancel'];
type CancelCombo = ComboService['cancel'];
const actor = { type: 'system' as const, id: 'test' };
const desk = asTenantId('6a0c3e4e-0000-4000-8000-000000000001');
const order = asOrderId('6a0c3e4e-0000-4000-8000-000000000002');
const combo = asComboId('6a0c3e4e-0000-4000-8000-000000000003');
const proposal = asProposalId('6a0c3e4e-0000-4000-8000-000000000004');
const signal = asSignalId('6a0c3e4e-0000-4000-8000-000000000005');
const user = asUserId('6a0c3e4e-0000-4000-8000-000000000006');
const tx = {} as Parameters<typeof getCombo>[0];
const key = asApiKeyId('6a0c3e4e-0000-4000-8000-000000000007');

describe('branded ids', () => {
  it('an order id and a desk id cannot change places in a cancel', () => {
    const calls = (cancel: Cancel, cancelCombo: CancelCombo) => {
      void cancel(desk, order, actor);
      // @ts-expect-error the order id where the desk goes, and the desk where the order goes
      void cancel(order, desk, actor);
      // @ts-expect-error a plain string is not yet known to be an order id
      void cancel(desk, 'not-branded', actor);
      // @ts-expect-error a combo id is not an order id
      void cancel(desk, combo, actor);
      void cancelCombo(desk, combo, actor);
    };
    expect(typeof calls).toBe('function');
    expect(asOrderId('x')).toBe('x');
  });

  it('reads of one order, combo, proposal or signal take the desk first and the right kind of id', () => {
    const calls = (
      orders: OrderService,
      combos: ComboService,
      halts: Halts,
      reads: {
        withFills: typeof getOrderWithFills;
        detail: typeof getOrderDetail;
        combo: typeof getCombo;
        proposal: typeof getProposalRow;
        decisions: typeof decisionsOf;
        positions: typeof listPositions;
        expire: ProposalWorkflow['expire'];
      },
    ) => {
      void orders.get(desk, order);
      // @ts-expect-error swapped
      void orders.get(order, desk);
      void combos.get(desk, combo);
      // @ts-expect-error an order id is not a combo id
      void combos.get(desk, order);
      void reads.withFills(tx, desk, order);
      // @ts-expect-error a plain string desk
      void reads.withFills(tx, 'desk', order);
      void reads.detail(tx, desk, order);
      // @ts-expect-error a proposal id is not an order id
      void reads.detail(tx, desk, proposal);
      void reads.combo(tx, desk, combo);
      // @ts-expect-error swapped
      void reads.combo(tx, combo, desk);
      void reads.proposal(tx, desk, proposal);
      // @ts-expect-error a signal id is not a proposal id
      void reads.proposal(tx, desk, signal);
      void reads.decisions(tx, desk, signal);
      // @ts-expect-error a plain string is not yet known to be a signal id
      void reads.decisions(tx, desk, 'signal');
      void halts.status(desk);
      void reads.expire(desk);
      // @ts-expect-error a plain string desk
      void reads.expire('desk');
      void reads.positions(tx, desk, {} as Parameters<typeof listPositions>[2]);
      // @ts-expect-error an order id is not a desk id
      void reads.positions(tx, order, {} as Parameters<typeof listPositions>[2]);
      // @ts-expect-error a user id is not a desk id
      void halts.status(user);
    };
    expect(typeof calls).toBe('function');
  });

  it('a decision and the request desk carry branded ids', () => {
    const ok: Pick<DecideRequest, 'tenantId' | 'proposalId' | 'userId'> = {
      tenantId: desk,
      proposalId: proposal,
      userId: user,
    };
    const swapped: Pick<DecideRequest, 'tenantId' | 'proposalId'> = {
      // @ts-expect-error a proposal id where the desk goes
      tenantId: proposal,
      // @ts-expect-error a plain string proposal id
      proposalId: 'p',
    };
    // @ts-expect-error the request's desk is a TenantId, not any string
    const plainDesk: DeskContext = { id: 'desk', role: 'viewer' };
    const deskId: TenantId = ok.tenantId;
    expect([deskId, swapped.proposalId, plainDesk.id]).toEqual([desk, 'p', 'desk']);
  });
});

describe('branded ids: channels, hooks, the proposal insert and the desk stores', () => {
  it('a channel name is built from a desk id only', () => {
    const streams = decisionStreams('t');
    expect(alertFeedChannel(desk)).toBe(`aegis:alerts:${desk}`);
    expect(streams.proposalChanged(desk)).toBe(`t:proposals:${desk}`);
    expect(streams.agentStatus(desk)).toBe(`t:agent:${desk}`);
    const swapped = () => {
      // @ts-expect-error an order id is not a desk id
      void alertFeedChannel(order);
      // @ts-expect-error a plain string is not yet known to be a desk id
      void streams.proposalChanged('desk');
      // @ts-expect-error a user id is not a desk id
      void streams.agentStatus(user);
    };
    expect(typeof swapped).toBe('function');
  });

  it('hooks are called with a desk id; the proposal insert takes a desk and a signal id', () => {
    const calls = (
      hooks: ComboHooks,
      insert: typeof insertProposal,
      v: Omit<Parameters<typeof insertProposal>[1], 'tenantId' | 'signalId'>,
    ) => {
      hooks.onOutboxCommitted(desk);
      // @ts-expect-error a combo id is not a desk id
      hooks.onOutboxCommitted(combo);
      // @ts-expect-error a plain string desk
      hooks.onOrderChanged('desk', {} as Parameters<ComboHooks['onOrderChanged']>[1]);
      void insert(tx, { ...v, tenantId: desk, signalId: signal });
      void insert(tx, { ...v, tenantId: desk, signalId: null });
      // @ts-expect-error desk and signal swapped
      void insert(tx, { ...v, tenantId: signal, signalId: desk });
      // @ts-expect-error a proposal id is not a signal id
      void insert(tx, { ...v, tenantId: desk, signalId: proposal });
    };
    expect(typeof calls).toBe('function');
  });

  it('desk stores take the desk first and a user or signal id in its own place', () => {
    const calls = (reads: {
      unread: typeof unreadCount;
      markRead: typeof markRead;
      skipped: typeof alreadySkipped;
      hedge: typeof readHedgeSettings;
    }) => {
      void reads.unread(tx, desk, user);
      // @ts-expect-error desk and user swapped
      void reads.unread(tx, user, desk);
      void reads.skipped(tx, desk, signal);
      // @ts-expect-error desk and signal swapped
      void reads.skipped(tx, signal, desk);
      void reads.hedge(tx, desk);
      // @ts-expect-error a plain string desk
      void reads.hedge(tx, 'desk');
      // @ts-expect-error a plain string user
      void reads.markRead(tx, desk, 'user', {} as Parameters<typeof markRead>[3]);
    };
    expect(typeof calls).toBe('function');
  });

  it("a webhook secret is bound to a desk id; an approved proposal's order key is made from a proposal id", () => {
    const calls = (fns: { binding: typeof webhookBindingOf; keyOf: typeof idempotencyKeyOf }) => {
      fns.binding(desk, 'endpoint');
      // @ts-expect-error the endpoint id where the desk goes
      fns.binding('endpoint', desk);
      void fns.keyOf(proposal);
      // @ts-expect-error an order id is not a proposal id
      void fns.keyOf(order);
      // @ts-expect-error a plain string is not yet known to be a proposal id
      void fns.keyOf('proposal');
    };
    expect(typeof calls).toBe('function');
  });
});

describe('branded ids: people and keys', () => {
  it('a user, a desk and an API key id cannot change places', () => {
    const calls = (fns: {
      revoke: typeof revokeApiKey;
      role: typeof roleOnDesk;
      members: typeof listMembers;
      disable: typeof disableUser;
    }) => {
      const db = {} as Parameters<typeof roleOnDesk>[0];
      void fns.revoke(tx, key, user);
      void fns.revoke(tx, key, null);
      // @ts-expect-error the user id where the key goes, and the key where the owner goes
      void fns.revoke(tx, user, key);
      // @ts-expect-error a plain string is not yet known to be a key id
      void fns.revoke(tx, 'key', null);
      void fns.role(db, user, desk);
      // @ts-expect-error desk and user swapped
      void fns.role(db, desk, user);
      void fns.members(tx, desk);
      // @ts-expect-error a user id is not a desk id
      void fns.members(tx, user);
      void fns.disable(db, user);
      // @ts-expect-error a desk id is not a user id
      void fns.disable(db, desk);
    };
    expect(typeof calls).toBe('function');
  });

  it("a session names its user and active desk, an API key its desk and owner, by their ids' kinds", () => {
    const s: Pick<SessionRecord, 'userId' | 'activeTenantId'> = { userId: user, activeTenantId: desk };
    const none: Pick<SessionRecord, 'userId' | 'activeTenantId'> = { userId: user, activeTenantId: null };
    // @ts-expect-error desk and user swapped
    const swapped: Pick<SessionRecord, 'userId' | 'activeTenantId'> = { userId: desk, activeTenantId: user };
    const k: Pick<ApiKeyRecord, 'tenantId' | 'userId'> = { tenantId: desk, userId: user };
    // @ts-expect-error a plain string owner
    const plainOwner: Pick<ApiKeyRecord, 'tenantId' | 'userId'> = { tenantId: desk, userId: 'user' };
    // @ts-expect-error a user id is not a desk id
    const userDesk: Pick<ApiKeyRecord, 'tenantId' | 'userId'> = { tenantId: user, userId: user };
    expect([s.activeTenantId, none.activeTenantId, swapped.userId]).toEqual([desk, null, desk]);
    expect([k.userId, plainOwner.userId, userDesk.tenantId]).toEqual([user, 'user', user]);
  });

  it("a session's id is its own kind: ending or moving a session takes a session id, never a user's or a desk's", () => {
    const session = sessionIdOf('abcdefghijklmnopqrstuvwxyz234567');
    const calls = (fns: {
      end: typeof invalidateSession;
      endOwn: typeof invalidateOwnSession;
      endOthers: typeof invalidateUserSessions;
      move: typeof setSessionActiveTenant;
    }) => {
      const db = {} as Parameters<typeof invalidateSession>[0];
      void fns.end(db, session);
      // @ts-expect-error a plain string is not yet known to be a session id
      void fns.end(db, 'a'.repeat(64));
      void fns.endOwn(db, user, session);
      // @ts-expect-error user and session swapped
      void fns.endOwn(db, session, user);
      void fns.endOthers(db, user, session);
      // @ts-expect-error a desk id is not a session id
      void fns.endOthers(db, user, desk);
      void fns.move(db, session, desk);
      // @ts-expect-error session and desk swapped
      void fns.move(db, desk, session);
    };
    expect(typeof calls).toBe('function');
    const record: Pick<SessionRecord, 'id'> = { id: session };
    // @ts-expect-error a session record's id is read from its table or derived from its token
    const plain: Pick<SessionRecord, 'id'> = { id: 'a'.repeat(64) };
    expect([record.id.length, plain.id.length]).toEqual([64, 64]);
  });

  it('a new session, a listed key and the desks cache take a user id and a desk id in their places', () => {
    type NewSession = Pick<CreateSessionInput, 'userId' | 'activeTenantId'>;
    const input: NewSession = { userId: user, activeTenantId: desk };
    // @ts-expect-error desk and user swapped
    const swapped: NewSession = { userId: desk, activeTenantId: user };
    const listed: Pick<ApiKeyListItem, 'userId'> = { userId: user };
    // @ts-expect-error a plain string is not yet known to be a user id
    const plain: Pick<ApiKeyListItem, 'userId'> = { userId: 'user' };
    const calls = (cache: AuthCache) => {
      void cache.desks(user);
      // @ts-expect-error a desk id is not a user id
      void cache.desks(desk);
      cache.putDesks(user, [], 0);
      // @ts-expect-error a plain string user
      cache.putDesks('user', [], 0);
    };
    expect(typeof calls).toBe('function');
    expect([input.userId, swapped.userId, listed.userId, plain.userId]).toEqual([user, desk, user, 'user']);
  });

  it("a created or found user's id is a user id; the desks list is read for a user id", () => {
    const calls = (fns: { create: typeof createUser; desks: typeof listAllDesks }) => {
      const db = {} as Parameters<typeof listAllDesks>[0];
      const passwords = {} as Parameters<typeof createUser>[1];
      const input = { tenantId: desk, email: 'a@example.com', displayName: 'A', role: 'viewer' as const };
      const created = fns.create(tx, passwords, input).then((r) => {
        const id: typeof user = r.userId;
        // @ts-expect-error a user id is not a desk id
        const asDesk: TenantId = r.userId;
        return [id, asDesk];
      });
      void fns.desks(db, user);
      // @ts-expect-error a desk id is not a user id
      void fns.desks(db, desk);
      return created;
    };
    const found: Pick<FoundUser, 'userId' | 'desks'> = {
      userId: user,
      desks: [{ id: desk, slug: 'd', name: 'D', role: 'viewer' }],
    };
    // @ts-expect-error a plain string is not yet known to be a user id
    const plain: Pick<FoundUser, 'userId'> = { userId: 'user' };
    // @ts-expect-error a found user's desk is a desk id, not a user id
    const wrongDesk: FoundUser['desks'][number] = { id: user, slug: 'd', name: 'D', role: 'viewer' };
    expect(typeof calls).toBe('function');
    expect([found.desks[0]?.id, plain.userId, wrongDesk.id]).toEqual([desk, 'user', user]);
  });
});

describe('branded ids: lessons and key creation', () => {
  it("an outcome, a lesson recall and a new key are for a desk id; the key is a user id's", () => {
    const calls = (fns: {
      record: typeof recordOutcome;
      query: typeof queryLessons;
      create: typeof createApiKey;
      list: typeof listApiKeys;
    }) => {
      const embedder = {} as Parameters<typeof queryLessons>[2];
      const outcome = {} as Parameters<typeof recordOutcome>[2];
      void fns.record(tx, desk, outcome, embedder);
      // @ts-expect-error a user id is not a desk id
      void fns.record(tx, user, outcome, embedder);
      void fns.query(tx, desk, embedder, 'text', 3);
      // @ts-expect-error a plain string is not yet known to be a desk id
      void fns.query(tx, 'desk', embedder, 'text', 3);
      const k = { name: 'k', scopes: [], expiresAt: null };
      void fns.create(tx, { ...k, tenantId: desk, userId: user });
      // @ts-expect-error desk and user swapped
      void fns.create(tx, { ...k, tenantId: user, userId: desk });
      // @ts-expect-error a plain string owner
      void fns.create(tx, { ...k, tenantId: desk, userId: 'user' });
      void fns.list(tx, { userId: user });
      // @ts-expect-error a desk id is not a user id
      void fns.list(tx, { userId: desk });
    };
    expect(typeof calls).toBe('function');
  });
});

describe('branded ids: the execution runtime', () => {
  it('reconciliation, the broker session hooks and the halt latch take a desk id', () => {
    const calls = (
      reconciler: Reconciler,
      runtime: ExecutionRuntime,
      hooks: BrokerRegistryHooks,
      latch: typeof haltLatch,
      report: Parameters<BrokerRegistryHooks['onReport']>[1],
    ) => {
      void reconciler.reconcile(desk, 'manual', null);
      void runtime.brokerAccount(desk, null);
      // @ts-expect-error a plain string desk
      void runtime.brokerAccount('desk', null);
      // @ts-expect-error an order id is not a desk id
      void reconciler.reconcile(order, 'manual');
      // @ts-expect-error a plain string is not yet known to be a desk id
      void reconciler.reconcile('desk', 'manual');
      void hooks.onReport(desk, report);
      // @ts-expect-error a combo id is not a desk id
      void hooks.onReport(combo, report);
      hooks.onBreaker?.({ tenantId: desk, connectionId: 'c', provider: 'p' }, true, null);
      // @ts-expect-error a user id is not a desk id
      hooks.onBreaker?.({ tenantId: user, connectionId: 'c', provider: 'p' }, true, null);
      latch.engage('desk', desk);
      latch.clear('global', null);
      // @ts-expect-error a plain string desk
      latch.engage('desk', 'desk');
      // @ts-expect-error an order id is not a desk id
      void latch.flags(order);
    };
    expect(typeof calls).toBe('function');
  });

  it("a connection row is read for a desk id; a reconciliation's resolved orders carry order ids", () => {
    const calls = (load: typeof loadConnectionRow) => {
      const deps = {} as Parameters<typeof loadConnectionRow>[0];
      void load(deps, desk, 'connection');
      // @ts-expect-error the connection id where the desk goes
      void load(deps, 'connection', desk);
      // @ts-expect-error a user id is not a desk id
      void load(deps, user, 'connection');
    };
    const ok: ReconcileReport['resolved'][number] = { orderId: order, status: 'filled' };
    // @ts-expect-error a plain string is not yet known to be an order id
    const plain: ReconcileReport['resolved'][number] = { orderId: 'order', status: 'filled' };
    expect(typeof calls).toBe('function');
    expect([ok.orderId, plain.orderId]).toEqual([order, 'order']);
  });

  it('the desk reads under every order take a desk id', () => {
    const calls = (reads: {
      halt: typeof readHalt;
      reducing: typeof readReducingOnly;
      enter: typeof enterReducingOnly;
      batch: typeof loadBatchRiskInputs;
    }) => {
      const deps = {} as Parameters<typeof enterReducingOnly>[0];
      const riskDeps = {} as Parameters<typeof loadBatchRiskInputs>[3];
      void reads.halt(tx, desk);
      // @ts-expect-error a user id is not a desk id
      void reads.halt(tx, user);
      void reads.reducing(tx, desk);
      // @ts-expect-error a plain string desk
      void reads.reducing(tx, 'desk');
      void reads.enter(deps, desk, 'connection:c', 'circuit open');
      // @ts-expect-error an order id is not a desk id
      void reads.enter(deps, order, 'connection:c', 'circuit open');
      void reads.batch(tx, desk, ['BTC-USD'], riskDeps);
      // @ts-expect-error a signal id is not a desk id
      void reads.batch(tx, signal, ['BTC-USD'], riskDeps);
    };
    expect(typeof calls).toBe('function');
  });

  it("a desk's valuation reads and its equity snapshot take a desk id", () => {
    const calls = (fns: {
      sessionStart: typeof sessionStartOf;
      rows: typeof positionRows;
      legs: typeof markedLegs;
      base: typeof dailyBase;
      value: typeof valueDesk;
      snapshot: typeof writeEquitySnapshot;
    }) => {
      const now = new Date();
      const quotes = {} as Parameters<typeof valueDesk>[2];
      const v = {} as Parameters<typeof writeEquitySnapshot>[2];
      void fns.sessionStart(tx, desk, now);
      // @ts-expect-error a plain string is not yet known to be a desk id
      void fns.sessionStart(tx, 'desk', now);
      void fns.rows(tx, desk);
      // @ts-expect-error a user id is not a desk id
      void fns.rows(tx, user);
      void fns.legs(tx, desk, quotes);
      // @ts-expect-error an order id is not a desk id
      void fns.legs(tx, order, quotes);
      void fns.base(tx, desk, now);
      // @ts-expect-error a combo id is not a desk id
      void fns.base(tx, combo, now);
      void fns.value(tx, desk, quotes, '100000', now);
      // @ts-expect-error a plain string desk
      void fns.value(tx, 'desk', quotes, '100000', now);
      void fns.snapshot(tx, desk, v, 'fill', now);
      // @ts-expect-error a signal id is not a desk id
      void fns.snapshot(tx, signal, v, 'fill', now);
    };
    expect(typeof calls).toBe('function');
  });

  it("a desk's effective limits are loaded, and a new order row is made, for a desk id", () => {
    const calls = (load: typeof loadLimits) => {
      void load(tx, desk, '*');
      // @ts-expect-error a plain string is not yet known to be a desk id
      void load(tx, 'desk', '*');
      // @ts-expect-error the symbol where the desk goes, and the desk where the symbol goes
      void load(tx, 'BTC-USD', desk);
    };
    const src: Pick<NewOrderSource, 'tenantId' | 'clientOrderId'> = { tenantId: desk, clientOrderId: 'c' };
    // @ts-expect-error a user id is not a desk id
    const wrong: Pick<NewOrderSource, 'tenantId' | 'clientOrderId'> = { tenantId: user, clientOrderId: 'c' };
    const from: Pick<NewOrderSource, 'proposalId'> = { proposalId: proposal };
    // @ts-expect-error a signal id is not a proposal id
    const fromSignal: Pick<NewOrderSource, 'proposalId'> = { proposalId: signal };
    expect(typeof calls).toBe('function');
    expect([src.tenantId, wrong.tenantId, from.proposalId, fromSignal.proposalId]).toEqual([
      desk,
      user,
      proposal,
      signal,
    ]);
  });

  it('a lease resource, the combo throttle and the position channel are built from a desk id', () => {
    expect(resourceOf(desk, null)).toBe(`paper:${desk}`);
    expect(resourceOf(desk, 'c1')).toBe('connection:c1');
    expect(positionUpdatesChannel(desk)).toBe(`aegis:positions:${desk}`);
    expect(combosSentSince(desk, new Date(0))).toBeDefined();
    const swapped = () => {
      // @ts-expect-error a plain string is not yet known to be a desk id
      void resourceOf('desk', null);
      // @ts-expect-error a combo id is not a desk id
      void combosSentSince(combo, new Date(0));
      // @ts-expect-error an order id is not a desk id
      void positionUpdatesChannel(order);
    };
    expect(typeof swapped).toBe('function');
  });
});

describe('branded ids: the audit chains', () => {
  it('a chain is named by a desk id (or null, the platform chain)', () => {
    const calls = (fns: {
      audit: typeof audit;
      batch: typeof recordBatch;
      length: typeof chainLength;
      start: typeof startVerifyJob;
      read: typeof readVerifyJob;
    }) => {
      const db = {} as Parameters<typeof startVerifyJob>[1];
      const log = {} as Parameters<typeof startVerifyJob>[2];
      const event = { action: 'orders.place', actor: { type: 'system' as const, id: null } };
      void fns.audit.record(tx, { ...event, tenantId: desk });
      void fns.audit.record(tx, { ...event, tenantId: null });
      // @ts-expect-error a plain string is not yet known to be a desk id
      void fns.audit.record(tx, { ...event, tenantId: 'desk' });
      void fns.audit.recordDetached(db, { ...event, tenantId: desk });
      // @ts-expect-error a user id is not a desk id
      void fns.audit.recordDetached(db, { ...event, tenantId: user });
      void fns.batch(tx, desk, []);
      // @ts-expect-error an order id is not a desk id
      void fns.batch(tx, order, []);
      void fns.audit.verify(tx, { tenantId: desk });
      void fns.audit.verify(tx, { tenantId: null });
      // @ts-expect-error a plain string desk
      void fns.audit.verify(tx, { tenantId: 'desk' });
      void fns.audit.list(tx, { tenantId: desk });
      // @ts-expect-error a proposal id is not a desk id
      void fns.audit.list(tx, { tenantId: proposal });
      void fns.length(tx, desk);
      // @ts-expect-error a user id is not a desk id
      void fns.length(tx, user);
      void fns.start(tx, db, log, { tenantId: desk, owner: 'test' });
      // @ts-expect-error a plain string desk
      void fns.start(tx, db, log, { tenantId: 'desk', owner: 'test' });
      void fns.read(tx, 'job', desk);
      // @ts-expect-error a combo id is not a desk id
      void fns.read(tx, 'job', combo);
    };
    expect(typeof calls).toBe('function');
  });

  it('a recorded row, a verify result, a job and the hashed fields name their chain by a desk id', () => {
    const recorded: RecordedAudit = { id: 1, tenantId: desk, seq: 1, hash: 'h' };
    const platform: RecordedAudit = { ...recorded, tenantId: null };
    // @ts-expect-error a plain string is not yet known to be a desk id
    const plainRow: RecordedAudit = { ...recorded, tenantId: 'desk' };
    const verified: Pick<VerifyResult, 'tenantId'> = { tenantId: desk };
    // @ts-expect-error a user id is not a desk id
    const wrongChain: Pick<VerifyResult, 'tenantId'> = { tenantId: user };
    const job: Pick<VerifyJobView, 'id' | 'tenantId'> = { id: 'job', tenantId: desk };
    // @ts-expect-error the job id where the desk goes
    const plainJob: Pick<VerifyJobView, 'id' | 'tenantId'> = { id: desk, tenantId: 'job' };
    const fields: Pick<ChainedFields, 'tenantId' | 'seq'> = { tenantId: desk, seq: 1 };
    // @ts-expect-error an order id is not a desk id
    const orderChain: Pick<ChainedFields, 'tenantId' | 'seq'> = { tenantId: order, seq: 1 };
    expect([recorded.tenantId, platform.tenantId, plainRow.tenantId]).toEqual([desk, null, 'desk']);
    expect([verified.tenantId, wrongChain.tenantId, job.tenantId, plainJob.tenantId]).toEqual([
      desk,
      user,
      desk,
      'job',
    ]);
    expect([fields.tenantId, orderChain.tenantId]).toEqual([desk, order]);
  });
});

describe('branded ids: the recommendation limiter', () => {
  it('counts a desk id and a user id, each in its own place', () => {
    const ok: RecommendCaller = { tenantId: desk, userId: user, symbol: 'BTC-USD' };
    // @ts-expect-error desk and user swapped
    const swapped: RecommendCaller = { tenantId: user, userId: desk, symbol: 'BTC-USD' };
    // @ts-expect-error a plain string user
    const plain: RecommendCaller = { tenantId: desk, userId: 'user', symbol: 'BTC-USD' };
    expect([ok.tenantId, swapped.userId, plain.userId]).toEqual([desk, desk, 'user']);
  });
});

describe('branded ids: linked broker secrets', () => {
  it('a secret is bound to a desk id; a settled link names the desk and the user', () => {
    const calls = (fns: {
      binding: typeof bindingOf;
      opener: typeof clientSecretOpener;
      settle: typeof settleAccount;
      unlink: typeof unlinkConnection;
    }) => {
      const deps = {} as Parameters<typeof settleAccount>[0];
      const by = { type: 'user' as const, id: user };
      const crypto = {} as Parameters<typeof clientSecretOpener>[0];
      fns.binding(desk, 'row', 'access_token');
      // @ts-expect-error a plain string is not yet known to be a desk id
      fns.binding('desk', 'row', 'access_token');
      fns.opener(crypto, desk);
      // @ts-expect-error a user id is not a desk id
      fns.opener(crypto, user);
      void fns.settle(deps, desk, user, 'connection');
      // @ts-expect-error desk and user swapped
      void fns.settle(deps, user, desk, 'connection');
      void fns.unlink(deps, desk, by, 'connection');
      // @ts-expect-error an order id is not a desk id
      void fns.unlink(deps, order, by, 'connection');
    };
    expect(typeof calls).toBe('function');
  });

  it("a desk's providers, tokens and endpoints are read for a desk id; a connection row names its desk", () => {
    const calls = (fns: {
      catalogue: typeof providerCatalogue;
      resolve: typeof resolveOAuthProvider;
      endpoints: typeof endpointsFor;
      credentials: typeof credentialSourceFor;
    }) => {
      const config = {} as Parameters<typeof providerCatalogue>[0];
      const deps = {} as Parameters<typeof credentialSourceFor>[0];
      const open = (sealed: string) => sealed;
      const row = { tenantId: desk, provider: 'alpaca', environment: 'paper' as const };
      void fns.catalogue(config, tx, desk);
      // @ts-expect-error a plain string is not yet known to be a desk id
      void fns.catalogue(config, tx, 'desk');
      void fns.resolve(config, tx, desk, 'alpaca', open);
      // @ts-expect-error the provider where the desk goes, and the desk where the provider goes
      void fns.resolve(config, tx, 'alpaca', desk, open);
      void fns.endpoints(config, tx, row);
      // @ts-expect-error a user id is not a desk id
      void fns.endpoints(config, tx, { ...row, tenantId: user });
      void fns.credentials(deps, { id: 'connection', tenantId: desk, provider: 'alpaca' });
      // @ts-expect-error a plain string desk
      void fns.credentials(deps, { id: 'connection', tenantId: 'desk', provider: 'alpaca' });
    };
    const ok: Pick<ConnectionRow, 'id' | 'tenantId'> = { id: 'connection', tenantId: desk };
    // @ts-expect-error an order id is not a desk id
    const swapped: Pick<ConnectionRow, 'id' | 'tenantId'> = { id: 'connection', tenantId: order };
    expect(typeof calls).toBe('function');
    expect([ok.tenantId, swapped.tenantId]).toEqual([desk, order]);
  });
});

describe('branded ids: the execution core', () => {
  it('reports are applied to a desk id; a combo is synced by its desk and combo ids', () => {
    const calls = (fns: {
      apply: typeof applyExecutionReport;
      applyRun: typeof applyExecutionReports;
      sync: typeof syncCombo;
      legs: typeof comboLegs;
      load: typeof loadCombo;
      legsOfCombos: typeof legsOfCombos;
      legsOf: typeof legsOf;
      legsOfEntries: typeof legsOfEntries;
      endUnsentLegs: typeof endUnsentLegs;
    }) => {
      const deps = {} as Parameters<typeof applyExecutionReport>[0];
      const opts = {} as Parameters<typeof applyExecutionReport>[1];
      const report = {} as Parameters<typeof applyExecutionReport>[3];
      const now = new Date();
      void fns.apply(deps, opts, desk, report, now);
      // @ts-expect-error a plain string is not yet known to be a desk id
      void fns.apply(deps, opts, 'desk', report, now);
      void fns.applyRun(deps, desk, [report], now);
      // @ts-expect-error an order id is not a desk id
      void fns.applyRun(deps, order, [report], now);
      void fns.sync(tx, desk, combo, now);
      // @ts-expect-error desk and combo swapped
      void fns.sync(tx, combo, desk, now);
      // @ts-expect-error an order id is not a combo id
      void fns.sync(tx, desk, order, now);
      void fns.legs(tx, desk, combo, true);
      // @ts-expect-error a plain string is not yet known to be a combo id
      void fns.legs(tx, desk, 'combo');
      void fns.load(tx, desk, combo);
      // @ts-expect-error desk and combo swapped
      void fns.load(tx, combo, desk);
      void fns.legsOfCombos(tx, desk, [combo]);
      // @ts-expect-error an order id is not a combo id
      void fns.legsOfCombos(tx, desk, [order]);
      void fns.legsOf(tx, desk, order);
      // @ts-expect-error desk and entry swapped
      void fns.legsOf(tx, order, desk);
      void fns.legsOfEntries(tx, desk, [order]);
      // @ts-expect-error a combo id is not an entry (order) id
      void fns.legsOfEntries(tx, desk, [combo]);
      const ended = { type: 'OrderCancelled' } as const;
      void fns.endUnsentLegs(tx, desk, order, ended, now);
      // @ts-expect-error a plain string is not yet known to be an order id
      void fns.endUnsentLegs(tx, desk, 'entry', ended, now);
    };
    expect(typeof calls).toBe('function');
  });

  it('the dispatcher, the broker sessions and the combo commands take a desk id', () => {
    const calls = (
      dispatcher: OutboxDispatcher,
      brokers: BrokerRegistry,
      combos: { place: typeof dispatchComboPlace; cancel: typeof dispatchComboCancel },
    ) => {
      dispatcher.nudge(desk);
      // @ts-expect-error a plain string desk
      dispatcher.nudge('desk');
      void dispatcher.dispatchTenant(desk, { forward: false });
      // @ts-expect-error an order id is not a desk id
      void dispatcher.dispatchTenant(order);
      void dispatcher.superviseTenant(desk);
      // @ts-expect-error a user id is not a desk id
      void dispatcher.superviseTenant(user);
      void brokers.session(desk, null);
      // @ts-expect-error a plain string is not yet known to be a desk id
      void brokers.session('desk', null);
      // @ts-expect-error a combo id is not a desk id
      void brokers.trySession(combo, 'connection');
      void brokers.replay(desk, 'client-order-id', null);
      // @ts-expect-error the client order id where the desk goes
      void brokers.replay('client-order-id', desk);
      void brokers.get(desk);
      // @ts-expect-error an order id is not a desk id
      void brokers.get(order);
      void brokers.paper(desk);
      // @ts-expect-error a plain string desk
      void brokers.paper('desk');
      void brokers.readOnlyAccount(desk, 'connection');
      // @ts-expect-error the connection id where the desk goes
      void brokers.readOnlyAccount('connection', desk);
      const d = {} as Parameters<typeof dispatchComboPlace>[0];
      const session = {} as Parameters<typeof dispatchComboPlace>[2];
      const row = { attempts: 1, payload: { comboId: combo, orderId: order, clientOrderId: 'c' } };
      void combos.place(d, desk, session, row);
      // @ts-expect-error a combo id is not a desk id
      void combos.place(d, combo, session, row);
      // @ts-expect-error a plain string combo id in the outbox payload
      void combos.cancel(d, desk, session, { ...row, payload: { ...row.payload, comboId: 'c' } }, false);
    };
    expect(typeof calls).toBe('function');
  });

  it('the order hooks and the order channel take a desk id', () => {
    const calls = (
      hooks: OrderPlacementHooks,
      view: Parameters<OrderPlacementHooks['onOrderChanged']>[1],
    ) => {
      hooks.onOutboxCommitted(desk);
      // @ts-expect-error an order id is not a desk id
      hooks.onOutboxCommitted(order);
      hooks.onOrderChanged(desk, view);
      // @ts-expect-error a plain string desk
      hooks.onOrderChanged('desk', view);
    };
    expect(typeof calls).toBe('function');
    expect(orderUpdatesChannel(desk)).toBe(`aegis:orders:${desk}`);
    const swapped = () => {
      // @ts-expect-error a plain string is not yet known to be a desk id
      void orderUpdatesChannel('desk');
    };
    expect(typeof swapped).toBe('function');
  });
});

describe('branded ids: the broker adapters', () => {
  it("an adapter's connection names its desk by a desk id", () => {
    const calls = (factory: AdapterFactory, ctx: ConnectionContext) => {
      factory(ctx);
      factory({ ...ctx, tenantId: desk });
      // @ts-expect-error a plain string is not yet known to be a desk id
      factory({ ...ctx, tenantId: 'desk' });
      // @ts-expect-error a user id is not a desk id
      factory({ ...ctx, tenantId: user });
    };
    const ok: Pick<ConnectionContext, 'connectionId' | 'tenantId'> = {
      connectionId: 'connection',
      tenantId: desk,
    };
    const swapped: Pick<ConnectionContext, 'connectionId' | 'tenantId'> = {
      connectionId: 'connection',
      // @ts-expect-error an order id is not a desk id
      tenantId: order,
    };
    expect(typeof calls).toBe('function');
    expect([ok.tenantId, swapped.tenantId]).toEqual([desk, order]);
  });

  it("a bracket request's OCO group is the entry's order id", () => {
    const legs: BracketRequest['legs'] = [{ clientOrderId: 'entryS', role: 'stop', price: '95' }];
    const ok: BracketRequest = { ocoGroup: order, legs };
    // @ts-expect-error a plain string is not yet known to be an order id
    const plain: BracketRequest = { ocoGroup: 'entry', legs };
    // @ts-expect-error a combo id is not an order id
    const ofCombo: BracketRequest = { ocoGroup: combo, legs };
    // @ts-expect-error a desk id is not an order id
    const ofDesk: BracketRequest = { ocoGroup: desk, legs };
    const built = (of: typeof bracketRequestOf, entry: Parameters<typeof bracketRequestOf>[0]) => {
      const group: typeof order | undefined = of(entry, [])?.ocoGroup;
      // @ts-expect-error the group built from the entry row is an order id, not a combo id
      const asCombo: typeof combo | undefined = of(entry, [])?.ocoGroup;
      return [group, asCombo];
    };
    expect(typeof built).toBe('function');
    expect([ok.ocoGroup, plain.ocoGroup, ofCombo.ocoGroup, ofDesk.ocoGroup]).toEqual([
      order,
      'entry',
      combo,
      desk,
    ]);
  });
});
