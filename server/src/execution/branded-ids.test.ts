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
import type { markRead, unreadCount } from '../alerts/store.ts';
import type { revokeApiKey } from '../auth/api-keys.ts';
import type { roleOnDesk } from '../auth/memberships.ts';
import type { readHedgeSettings } from '../hedging/store.ts';
import type { getProposalRow, insertProposal } from '../proposals/store.ts';
import type { DecideRequest, ProposalWorkflow } from '../proposals/workflow.ts';
import type { disableUser, listMembers } from '../provisioning/service.ts';
import type { decisionsOf } from '../signals/service.ts';
import { decisionStreams } from '../signals/streams.ts';
import type { DeskContext } from '../trpc/tenant-transaction.ts';
import type { ComboHooks, ComboService, getCombo } from './combo-service.ts';
import type { Halts } from './halt.ts';
import type { getOrderDetail } from './order-detail.ts';
import type { getOrderWithFills, listPositions } from './queries.ts';
import type { OrderService } from './service.ts';

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
      const now = new Date();
      void reads.positions(tx, desk, {} as Parameters<typeof listPositions>[2], '0', now);
      // @ts-expect-error an order id is not a desk id
      void reads.positions(tx, order, {} as Parameters<typeof listPositions>[2], '0', now);
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
});
