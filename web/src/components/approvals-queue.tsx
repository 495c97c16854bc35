import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { formatDecimal, utcTime } from '../lib/decimal-format.ts';
import { createFormAction, reauthFailure } from '../lib/form-action.ts';
import { isHalted, useLiveHalt } from '../lib/live-halt.ts';
import { createLiveOrder, type LiveOrder, orderStatusText, trimZeros } from '../lib/live-order.ts';
import { useSession } from '../lib/session.tsx';
import { useSubscription } from '../lib/subscription.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { AccountSelect, brokerConnectionIdOf } from './account-select.tsx';
import { ErrorAlert } from './error-alert.tsx';
import { EmptyState } from './panel.tsx';
import { PasswordField } from './password-field.tsx';
import { RuleVerdicts } from './rule-verdicts.tsx';

export type Proposal = RouterOutputs['proposals']['list']['items'][number];

function remaining(expiresAt: string, now: number): string {
  const ms = Date.parse(expiresAt) - now;
  if (!Number.isFinite(ms)) return expiresAt;
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
}

/**
 * Proposals awaiting a human decision: the pending page from the database, then every change
 * live (proposals.onChange over SSE). Approving re-enters the password (the server requires a
 * recent re-authentication) and executes through the risk governor; rejecting takes an
 * optional reason. Viewers see the queue without the controls.
 */
export function ApprovalsQueue(props: { onChange?: (proposal: Proposal) => void }) {
  const session = useSession();
  const [items, setItems] = createSignal<readonly Proposal[]>([]);
  const [status, setStatus] = createSignal<'loading' | 'ready' | 'error'>('loading');
  const [error, setError] = createSignal<string>();
  const [notice, setNotice] = createSignal<{ text: string; bad: boolean }>();
  // The order an approval placed, followed live: the notice says "filled", not "pending new".
  const [approvedOrder, setApprovedOrder] = createSignal<LiveOrder>();
  const liveOrder = createLiveOrder(approvedOrder);
  const halt = useLiveHalt();
  const [now, setNow] = createSignal(Date.now());
  const canDecide = () => ['admin', 'trader'].includes(session.me()?.activeDesk?.role ?? '');

  onMount(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    onCleanup(() => clearInterval(timer));
  });

  const apply = (p: Proposal) => {
    props.onChange?.(p);
    setItems((current) => {
      const others = current.filter((x) => x.id !== p.id);
      return p.status === 'pending'
        ? [...others, p].sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        : others;
    });
  };

  useSubscription(() => {
    let cancelled = false;
    let subscription: { unsubscribe: () => void } | undefined;
    trpc.proposals.list
      .query({ status: 'pending', limit: 100 })
      .then((page) => {
        if (cancelled) return;
        setItems([...page.items].sort((a, b) => a.createdAt.localeCompare(b.createdAt)));
        setStatus('ready');
        subscription = trpc.proposals.onChange.subscribe({}, { onData: (event) => apply(event.data) });
      })
      .catch((e: unknown) => {
        setError(errorMessageOf(e));
        setStatus('error');
      });
    return {
      unsubscribe: () => {
        cancelled = true;
        subscription?.unsubscribe();
      },
    };
  });

  const approve = async (p: Proposal, password: string, brokerConnectionId: string | null) => {
    await trpc.auth.reauthenticate.mutate({ password });
    // Absent means the desk's paper account (the server's default), as null would.
    const result = await trpc.approvals.approve.mutate({
      proposalId: p.id,
      ...(brokerConnectionId ? { brokerConnectionId } : {}),
    });
    apply(result.proposal);
    const what = `${p.side} ${trimZeros(p.quantity)} ${p.instrument}`;
    const st = result.proposal.status;
    setApprovedOrder(result.order ?? undefined);
    setNotice({
      text:
        st === 'executed'
          ? `Approved ${what}.`
          : st === 'denied'
            ? `Approved ${what}, but the risk governor denied the order.`
            : `Approved ${what}: ${st}.`,
      bad: ['denied', 'failed'].includes(st),
    });
  };

  const reject = async (p: Proposal, reason: string) => {
    const updated = await trpc.approvals.reject.mutate({ proposalId: p.id, ...(reason ? { reason } : {}) });
    apply(updated);
    setApprovedOrder(undefined);
    setNotice({ text: `Rejected ${p.side} ${p.quantity} ${p.instrument}.`, bad: false });
  };

  return (
    <Show
      when={status() !== 'error'}
      fallback={
        <EmptyState title="Could not load proposals" tone="error">
          {error()}
        </EmptyState>
      }
    >
      <Show when={status() === 'ready'} fallback={<div class="skeleton" aria-busy="true" />}>
        <div class="scroll queue">
          <Show when={notice()}>
            {(n) => (
              <div class={`alert ${n().bad ? 'alert-error' : 'alert-info'}`} role="status">
                {n().text}
                <Show when={liveOrder()}>{(o) => <> Order {orderStatusText(o())}.</>}</Show>
              </div>
            )}
          </Show>
          <Show when={items().length > 0} fallback={<EmptyState title="No proposals awaiting approval" />}>
            <ul class="proposal-list" aria-label="Proposals awaiting approval">
              <For each={items()}>
                {(p) => (
                  <ProposalCard
                    proposal={p}
                    now={now()}
                    canDecide={canDecide()}
                    halted={isHalted(halt.state())}
                    onApprove={(password, account) => approve(p, password, account)}
                    onReject={(reason) => reject(p, reason)}
                  />
                )}
              </For>
            </ul>
          </Show>
        </div>
      </Show>
    </Show>
  );
}

function ProposalCard(props: {
  proposal: Proposal;
  now: number;
  canDecide: boolean;
  /** The halt is engaged: a verdict from before it no longer holds for opening orders. */
  halted: boolean;
  onApprove: (password: string, brokerConnectionId: string | null) => Promise<void>;
  onReject: (reason: string) => Promise<void>;
}) {
  const [mode, setMode] = createSignal<'idle' | 'approve' | 'reject'>('idle');
  const { pending, error, run } = createFormAction();
  const p = () => props.proposal;
  const label = () => `${p().side} ${p().quantity} ${p().instrument}`;

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    await run(async () => {
      if (mode() === 'approve')
        await props.onApprove(
          String(data.get('password') ?? ''),
          brokerConnectionIdOf(String(data.get('brokerConnectionId') ?? '')),
        );
      else await props.onReject(String(data.get('reason') ?? '').trim());
      setMode('idle');
    }, reauthFailure);
  };

  return (
    <li class="proposal" aria-label={`Proposal: ${label()}`}>
      <div class="proposal-head">
        <span class={`proposal-side ${p().side === 'buy' ? 'pos' : 'neg'}`}>{p().side.toUpperCase()}</span>
        <span class="mono">{formatDecimal(p().quantity, 4)}</span>
        <span class="mono proposal-symbol">{p().instrument}</span>
        <span class="dim">
          {p().orderType === 'limit' ? `@ ${formatDecimal(p().limitPrice, 4)}` : 'at market'} ·{' '}
          <span title="How long the agent expects to hold the position">holding for {p().timeHorizon}</span>
        </span>
        <span class="proposal-expiry mono" title={`expires ${utcTime(p().expiresAt)} UTC`}>
          {remaining(p().expiresAt, props.now)}
        </span>
      </div>
      <div class="proposal-meta">
        <span>confidence {Math.round(p().confidence * 100)}%</span>
        <span>risk {p().riskScore}/100</span>
        <span>
          stop {formatDecimal(p().stopPrice, 4)} · target {formatDecimal(p().targetPrice, 4)}
        </span>
        <span class="dim">
          {p().decider}
          {p().model ? ` · ${p().model}` : ''}
        </span>
        <Show when={p().riskVerdict}>
          {(v) => (
            <Show
              when={!(props.halted && v().allowed)}
              fallback={
                <span
                  class="tag tag-warn"
                  title="The checks passed when the agent proposed this. While trading is halted, approving places the order only if it reduces a position; otherwise the governor denies it."
                >
                  halted: passes only if it reduces a position
                </span>
              }
            >
              <span class={`tag ${v().allowed ? 'tag-ok' : 'tag-bad'}`}>
                {v().allowed
                  ? 'risk checks passed when proposed'
                  : `denied: ${v()
                      .rules.filter((r) => r.status === 'failed')
                      .map((r) => r.rule)
                      .join(', ')}`}
              </span>
            </Show>
          )}
        </Show>
      </div>
      <Show when={p().riskVerdict}>
        {(v) => (
          <details class="rationale">
            <summary>
              Risk checks ({v().rules.filter((r) => r.status === 'failed').length} failed,{' '}
              {v().rules.filter((r) => r.status === 'not_applicable').length} not applicable)
            </summary>
            <RuleVerdicts verdicts={v().rules} />
          </details>
        )}
      </Show>
      <details class="rationale">
        <summary>Rationale</summary>
        <dl class="kv">
          <dt>Market</dt>
          <dd>{p().rationale.marketContext}</dd>
          <dt>Signal</dt>
          <dd>{p().rationale.signalEvidence}</dd>
          <dt>Risk</dt>
          <dd>{p().rationale.riskView}</dd>
          <Show when={p().rationale.lessonsApplied.length > 0}>
            <dt>Lessons</dt>
            <dd>
              <For each={p().rationale.lessonsApplied}>{(l) => <div>{l.how}</div>}</For>
            </dd>
          </Show>
        </dl>
      </details>
      <Show when={props.canDecide}>
        <Show
          when={mode() !== 'idle'}
          fallback={
            <div class="proposal-actions">
              <button type="button" class="btn btn-sm btn-buy" onClick={() => setMode('approve')}>
                Approve
              </button>
              <button type="button" class="btn btn-sm" onClick={() => setMode('reject')}>
                Reject
              </button>
            </div>
          }
        >
          <form class="proposal-decision" onSubmit={submit} aria-label={`Decide on ${label()}`}>
            <ErrorAlert message={error()} />
            <Show
              when={mode() === 'approve'}
              fallback={
                <div class="field">
                  <label for={`reject-${p().id}`}>Reason (optional)</label>
                  <input id={`reject-${p().id}`} name="reason" maxLength={1000} autocomplete="off" />
                </div>
              }
            >
              <AccountSelect id={`approve-account-${p().id}`} label="Execute on" />
              <PasswordField id={`approve-${p().id}`} label="Your password (approval executes the order)" />
            </Show>
            <div class="proposal-actions">
              <button type="button" class="btn btn-sm btn-ghost" onClick={() => setMode('idle')}>
                Cancel
              </button>
              <button
                type="submit"
                class={`btn btn-sm ${mode() === 'approve' ? 'btn-buy' : 'btn-danger'}`}
                disabled={pending()}
              >
                {pending() ? 'Working…' : mode() === 'approve' ? `Approve ${label()}` : 'Reject proposal'}
              </button>
            </div>
          </form>
        </Show>
      </Show>
    </li>
  );
}
