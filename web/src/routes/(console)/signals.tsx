import { createSignal, Show } from 'solid-js';
import { LiveSignals } from '../../components/desk/live-signals.tsx';
import { useLiveSignals } from '../../components/desk/use-live-signals.ts';
import { PageHeader } from '../../components/page-header.tsx';
import { EmptyState, Panel } from '../../components/panel.tsx';
import { DECIDERS, SignalDetail } from '../../components/signal-detail.tsx';
import { usePageKeys } from '../../lib/keys.ts';
import { createQuery } from '../../lib/query.ts';
import { useSession } from '../../lib/session.tsx';
import { trpc } from '../../lib/trpc.ts';

/**
 * Signals: the live list and, for the selected one, its detail with the desk's order flow and
 * the trader's decision. ↑/↓ move the selection; `a`/`r`/`n` act on it (signal-detail.tsx).
 */
export default function SignalsPage() {
  const session = useSession();
  const feed = useLiveSignals(200);
  const [selected, setSelected] = createSignal<string>();
  const role = () => session.me()?.activeDesk?.role ?? '';
  // Who decided: desk admins may list the desk's members; others see short user ids.
  const members = createQuery(() =>
    role() === 'admin'
      ? trpc.users.list.query()
      : Promise.resolve([] as { userId: string; displayName: string }[]),
  );
  const names = () => {
    const s = members.state();
    return new Map(s.status === 'ready' ? s.data.map((m) => [m.userId, m.displayName] as const) : []);
  };

  const select = (id: string) => {
    setSelected(id);
    document.querySelector(`[data-signal-id="${CSS.escape(id)}"]`)?.scrollIntoView({ block: 'nearest' });
  };

  usePageKeys((event) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp' && event.key !== 'j' && event.key !== 'k')
      return false;
    const rows = feed.rows();
    if (rows.length === 0) return false;
    const at = rows.findIndex((r) => r.id === selected());
    const down = event.key === 'ArrowDown' || event.key === 'j';
    const next = at < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, at + (down ? 1 : -1)));
    const row = rows[next];
    if (row) select(row.id);
    return true;
  });

  return (
    <>
      <PageHeader title="Signals" sub="Scored patterns from the engine, newest first, live" />
      <div class="signals-layout">
        <Panel title="Signals" meta="Latest 200, then streaming · ↑↓ to move" bodyClass="h-audit" flush>
          <LiveSignals limit={200} feed={feed} selectedId={selected()} onSelect={select} />
        </Panel>
        <Panel
          title="Signal detail"
          meta={
            <Show when={DECIDERS.has(role())}>
              <span>
                <kbd>a</kbd> accept · <kbd>r</kbd> reject · <kbd>n</kbd> note
              </span>
            </Show>
          }
          bodyClass="h-audit signal-detail-body"
          flush
        >
          <Show
            when={selected()}
            keyed
            fallback={
              <EmptyState title="No signal selected">
                Click a signal, or press ↓ to select the newest one.
              </EmptyState>
            }
          >
            {(id) => <SignalDetail id={id} names={names()} />}
          </Show>
        </Panel>
      </div>
    </>
  );
}
