import { createSignal, For, Show } from 'solid-js';
import { formatDecimal, utcTime } from '../lib/decimal-format.ts';
import { formatQuantity } from '../lib/instrument-sizes.ts';
import { usePageKeys } from '../lib/keys.ts';
import { createQuery } from '../lib/query.ts';
import { useSession } from '../lib/session.tsx';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { DataTable } from './data-table/data-table.tsx';
import { priceColumn } from './data-table/price-column.ts';
import { ErrorAlert } from './error-alert.tsx';
import { EmptyState, QueryView } from './panel.tsx';

type Detail = RouterOutputs['signals']['get'];
type Decision = Detail['decisions'][number];
type Flow = Detail['orderflow'][number];
type DecisionKind = Decision['decision'];

/** Order flow within this many ms either side of the signal's event time. */
const WINDOW_MS = 60_000;
export const DECIDERS: ReadonlySet<string> = new Set(['admin', 'trader']);

const DECISION_LABEL: Record<DecisionKind, string> = { accept: 'Accepted', reject: 'Rejected', note: 'Note' };
const DECISION_TAG: Record<DecisionKind, string> = { accept: 'tag-ok', reject: 'tag-bad', note: '' };

/** "12:00:01.234", from an ISO instant (the order-flow context is within a minute). */
function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 23);
}

/** "2026-11-25 12:00:01.234", from an ISO instant. */
function instant(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 23).replace('T', ' ');
}

function latency(signal: Detail['signal']): string {
  const ms = new Date(signal.tsSignal).getTime() - new Date(signal.tsEvent).getTime();
  return Number.isFinite(ms) ? `${ms.toLocaleString('en-US')} ms` : '—';
}

/**
 * One signal as the desk sees it (signals.get): the engine's numbers, the desk's own order flow
 * around its event time, the decisions recorded on it, and (for traders and desk admins) the
 * decision actions. Keyed by signal id by the caller: each selection is a fresh load.
 * Keys: `a` accept, `r` reject, `n` write a note.
 */
export function SignalDetail(props: {
  id: string;
  /** Display names of the desk's members by user id (desk admins can list them), if known. */
  names?: ReadonlyMap<string, string>;
}) {
  const session = useSession();
  const detail = createQuery(() => trpc.signals.get.query({ id: props.id, windowMs: WINDOW_MS, limit: 200 }));
  const canDecide = () => DECIDERS.has(session.me()?.activeDesk?.role ?? '');
  const [pending, setPending] = createSignal<DecisionKind>();
  const [error, setError] = createSignal<string>();
  const [done, setDone] = createSignal<string>();
  let noteField: HTMLTextAreaElement | undefined;

  const decide = async (decision: DecisionKind) => {
    if (pending() || !canDecide()) return;
    const note = decision === 'note' ? (noteField?.value.trim() ?? '') : '';
    setPending(decision);
    setError(undefined);
    setDone(undefined);
    try {
      // An empty note is sent as none: the server says a note needs text, and that is shown.
      await trpc.signals.decide.mutate({
        signalId: props.id,
        decision,
        ...(note ? { note } : {}),
      });
      if (decision === 'note' && noteField) noteField.value = '';
      setDone(decision === 'note' ? 'Note added.' : `${DECISION_LABEL[decision]}.`);
      await detail.refetch();
    } catch (e) {
      setError(errorMessageOf(e));
    } finally {
      setPending(undefined);
    }
  };

  usePageKeys((event) => {
    if (!canDecide() || detail.state().status !== 'ready') return false;
    if (event.key === 'a') void decide('accept');
    else if (event.key === 'r') void decide('reject');
    else if (event.key === 'n') noteField?.focus();
    else return false;
    return true;
  });

  const who = (d: Decision) =>
    d.userId === session.me()?.user.id
      ? 'you'
      : (props.names?.get(d.userId) ?? `user ${d.userId.slice(0, 8)}`);

  return (
    <QueryView query={detail} errorTitle="Could not load the signal">
      {(data) => (
        <div class="signal-detail">
          <div class="signal-head">
            <span class="signal-symbol mono">{data.signal.symbol}</span>
            <span class={`tag ${data.signal.direction === 'long' ? 'tag-ok' : 'tag-bad'}`}>
              {data.signal.direction}
            </span>
            <span class="dim">{data.signal.pattern.replace('_', ' ')}</span>
            <span class="signal-score" title="Model score, 0 to 1">
              <span class="visually-hidden">Score </span>
              {data.signal.score.toFixed(3)}
            </span>
          </div>

          <dl class="kv signal-kv">
            <dt>Price</dt>
            <dd class="mono">{formatDecimal(data.signal.price, 4)}</dd>
            <dt>Event time</dt>
            <dd class="mono">{instant(data.signal.tsEvent)} UTC</dd>
            <dt>Signal time</dt>
            <dd class="mono">
              {instant(data.signal.tsSignal)} UTC <span class="dim">(+{latency(data.signal)})</span>
            </dd>
            <dt>Model</dt>
            <dd class="mono dim">{data.signal.modelVersion}</dd>
          </dl>

          <Show
            when={canDecide()}
            fallback={
              <p class="signal-note-ro dim">Your role on this desk can view signals, not decide on them.</p>
            }
          >
            <section class="signal-actions" aria-label="Decide on this signal">
              <div class="signal-buttons">
                <button
                  type="button"
                  class="btn btn-sm btn-buy"
                  disabled={pending() !== undefined}
                  onClick={() => void decide('accept')}
                  aria-keyshortcuts="a"
                  aria-describedby="signal-decision-help"
                  title="Record that you agree with this signal. It places no order and creates no proposal."
                >
                  {pending() === 'accept' ? 'Accepting…' : 'Accept'} <kbd>a</kbd>
                </button>
                <button
                  type="button"
                  class="btn btn-sm btn-sell"
                  disabled={pending() !== undefined}
                  onClick={() => void decide('reject')}
                  aria-keyshortcuts="r"
                  aria-describedby="signal-decision-help"
                  title="Record that you disagree with this signal. Nothing is cancelled or traded."
                >
                  {pending() === 'reject' ? 'Rejecting…' : 'Reject'} <kbd>r</kbd>
                </button>
                <output class="signal-done dim" aria-live="polite">
                  {done()}
                </output>
              </div>
              <p class="signal-help dim" id="signal-decision-help">
                Accept and reject record your judgement on the engine's signal, with your name and the time,
                beside the signal and in the audit log. They place no order: trades come from proposals (the
                Proposals page), which you approve or reject.
              </p>
              <form
                class="signal-note-form"
                aria-label="Note on this signal"
                onSubmit={(e) => {
                  e.preventDefault();
                  void decide('note');
                }}
              >
                <label class="visually-hidden" for="signal-note">
                  Note
                </label>
                <textarea
                  id="signal-note"
                  ref={noteField}
                  class="textarea"
                  rows={2}
                  maxLength={2000}
                  placeholder="Note for the desk (n)"
                  aria-keyshortcuts="n"
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                      e.preventDefault();
                      void decide('note');
                    } else if (e.key === 'Escape') {
                      e.currentTarget.blur();
                    }
                  }}
                />
                <button type="submit" class="btn btn-sm" disabled={pending() !== undefined}>
                  {pending() === 'note' ? 'Saving…' : 'Add note'}
                </button>
              </form>
              <ErrorAlert message={error()} />
            </section>
          </Show>

          <section aria-labelledby="signal-decisions-title">
            <h3 class="signal-section" id="signal-decisions-title">
              Decisions <span class="dim">{data.decisions.length || ''}</span>
            </h3>
            <Show
              when={data.decisions.length > 0}
              fallback={<p class="signal-empty dim">No decision recorded on this desk.</p>}
            >
              <ul class="decision-list" aria-label="Decisions on this signal">
                <For each={data.decisions}>
                  {(d) => (
                    <li class="decision-row">
                      <span class="mono dim">{utcTime(d.createdAt)}</span>
                      <span class={`tag ${DECISION_TAG[d.decision]}`}>{DECISION_LABEL[d.decision]}</span>
                      <span class="dim">{who(d)}</span>
                      <Show when={d.note}>
                        <span class="decision-note">{d.note}</span>
                      </Show>
                    </li>
                  )}
                </For>
              </ul>
            </Show>
          </section>

          <section aria-labelledby="signal-features-title">
            <h3 class="signal-section" id="signal-features-title">
              Features
            </h3>
            <Show
              when={Object.keys(data.signal.features).length > 0}
              fallback={<p class="signal-empty dim">No features recorded.</p>}
            >
              <dl class="feature-grid">
                <For each={Object.entries(data.signal.features).sort(([a], [b]) => a.localeCompare(b))}>
                  {([name, value]) => (
                    <div class="feature">
                      <dt>{name}</dt>
                      <dd class="mono">{value === null ? '—' : String(Number(value.toPrecision(6)))}</dd>
                    </div>
                  )}
                </For>
              </dl>
            </Show>
          </section>

          <section aria-labelledby="signal-flow-title">
            <h3 class="signal-section" id="signal-flow-title">
              Desk order flow <span class="dim">±{WINDOW_MS / 1000} s of the event</span>
            </h3>
            <OrderflowTable flow={data.orderflow} at={data.signal.tsEvent} symbol={data.signal.symbol} />
          </section>
        </div>
      )}
    </QueryView>
  );
}

function OrderflowTable(props: { flow: readonly Flow[]; at: string; symbol: string }) {
  const at = () => new Date(props.at).getTime();
  // The first event at or after the signal's event time carries the marker line.
  const markIndex = () => props.flow.findIndex((f) => new Date(f.tsEvent).getTime() >= at());
  return (
    <Show
      when={props.flow.length > 0}
      fallback={
        <EmptyState title="No order flow around this signal">
          The desk ingested no trades or quotes for this instrument in the window.
        </EmptyState>
      }
    >
      <DataTable
        label="Desk order flow around the signal"
        dense
        rows={props.flow}
        rowClass={(_, i) => (i === markIndex() ? 'flow-mark' : undefined)}
        columns={[
          {
            id: 'time',
            header: 'Time (UTC)',
            class: 'mono',
            title: (f) =>
              props.flow.indexOf(f) === markIndex()
                ? "First event at or after the signal's event time"
                : undefined,
            cell: (f) => clock(f.tsEvent),
          },
          { id: 'kind', header: 'Kind', cell: (f) => f.kind },
          {
            id: 'side',
            header: 'Side',
            class: (f) => (f.side === 'buy' ? 'pos' : f.side === 'sell' ? 'neg' : 'dim'),
            cell: (f) => f.side ?? '—',
          },
          priceColumn(
            'price',
            'Price',
            (f: Flow) => f.price,
            () => props.symbol,
          ),
          { id: 'size', header: 'Size', numeric: true, cell: (f) => formatQuantity(f.size, props.symbol) },
          priceColumn(
            'bid',
            'Bid',
            (f: Flow) => f.bid,
            () => props.symbol,
            2,
          ),
          priceColumn(
            'ask',
            'Ask',
            (f: Flow) => f.ask,
            () => props.symbol,
            2,
          ),
        ]}
      />
    </Show>
  );
}
