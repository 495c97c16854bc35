import { A } from '@solidjs/router';
import { createSignal, onCleanup, onMount, Show } from 'solid-js';
import { useSubscription } from '../../lib/subscription.ts';
import { errorMessageOf, trpc } from '../../lib/trpc.ts';
import { type AlertEvent, AlertItems } from './alert-items.tsx';
import './notifications.css';

function BellIcon() {
  return (
    <svg
      viewBox="0 0 16 16"
      width="16"
      height="16"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      stroke-width="1.4"
    >
      <path d="M4 11V7a4 4 0 0 1 8 0v4l1.2 1.5H2.8L4 11Z" stroke-linejoin="round" />
      <path d="M6.5 14a1.6 1.6 0 0 0 3 0" stroke-linecap="round" />
    </svg>
  );
}

/**
 * The notification centre in the top bar: a bell with the unread count, live over the
 * `alerts.feed` subscription, and a panel with the latest notifications (mark read, all read,
 * the /alerts page).
 */
export function AlertBell() {
  const [unread, setUnread] = createSignal<number | null>(null);
  const [open, setOpen] = createSignal(false);
  const [events, setEvents] = createSignal<readonly AlertEvent[]>([]);
  const [error, setError] = createSignal<string>();
  let root: HTMLDivElement | undefined;

  const load = async () => {
    try {
      const list = await trpc.alerts.list.query({ limit: 10 });
      setEvents(list.events);
      setUnread(list.unread);
      setError(undefined);
    } catch (e) {
      setError(errorMessageOf(e));
    }
  };

  useSubscription(() =>
    trpc.alerts.feed.subscribe(undefined, {
      onData: (item) => {
        setUnread(item.data.unread);
        if (open()) void load();
      },
    }),
  );

  const markRead = async (which: { ids: number[] } | { all: true }) => {
    try {
      const r = await trpc.alerts.markRead.mutate(which);
      setUnread(r.unread);
      await load();
    } catch (e) {
      setError(errorMessageOf(e));
    }
  };

  const toggle = () => {
    const next = !open();
    setOpen(next);
    if (next) void load();
  };

  onMount(() => {
    // The count at once, without waiting for the stream's first message.
    void load();
    const onDoc = (e: MouseEvent) => {
      if (open() && root && !root.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (open() && e.key === 'Escape') setOpen(false);
    };
    document.addEventListener('click', onDoc);
    document.addEventListener('keydown', onKey);
    onCleanup(() => {
      document.removeEventListener('click', onDoc);
      document.removeEventListener('keydown', onKey);
    });
  });

  const label = () => {
    const n = unread();
    return n === null ? 'Notifications' : `Notifications, ${n} unread`;
  };

  return (
    <div class="alert-bell" ref={root}>
      <button
        type="button"
        class="btn btn-ghost alert-bell-button"
        aria-label={label()}
        aria-expanded={open()}
        aria-controls="alert-bell-panel"
        data-testid="alert-bell"
        onClick={toggle}
      >
        <BellIcon />
        <Show when={(unread() ?? 0) > 0}>
          <span class="alert-count" data-testid="alert-unread-count" aria-hidden="true">
            {(unread() ?? 0) > 99 ? '99+' : unread()}
          </span>
        </Show>
      </button>
      <Show when={open()}>
        <section id="alert-bell-panel" class="alert-panel" aria-label="Notifications">
          <header class="alert-panel-head">
            <strong>Notifications</strong>
            <span class="panel-actions">
              <button
                type="button"
                class="btn btn-sm"
                disabled={(unread() ?? 0) === 0}
                onClick={() => void markRead({ all: true })}
              >
                Mark all read
              </button>
              <A href="/alerts" class="btn btn-sm" onClick={() => setOpen(false)}>
                All alerts
              </A>
            </span>
          </header>
          <Show when={error()}>
            <p class="alert-panel-error" role="alert">
              {error()}
            </p>
          </Show>
          <Show
            when={events().length > 0}
            fallback={<p class="dim alert-panel-empty">No notifications yet.</p>}
          >
            <AlertItems events={events()} compact onMarkRead={(id) => void markRead({ ids: [id] })} />
          </Show>
        </section>
      </Show>
    </div>
  );
}
