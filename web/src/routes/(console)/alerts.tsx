import { createSignal, onMount, Show } from 'solid-js';
import { type AlertEvent, AlertItems } from '../../components/notifications/alert-items.tsx';
import {
  AlertSettingsPanel,
  WebhookEndpointsPanel,
} from '../../components/notifications/webhook-endpoints-panel.tsx';
import '../../components/notifications/notifications.css';
import { PageHeader } from '../../components/page-header.tsx';
import { EmptyState, Panel } from '../../components/panel.tsx';
import { useSession } from '../../lib/session.tsx';
import { useSubscription } from '../../lib/subscription.ts';
import { errorMessageOf, trpc } from '../../lib/trpc.ts';

const PAGE_SIZE = 50;

/** Every notification of the desk, newest first, live; mark read one by one or all. */
function Notifications() {
  const [events, setEvents] = createSignal<readonly AlertEvent[]>([]);
  const [unread, setUnread] = createSignal(0);
  const [unreadOnly, setUnreadOnly] = createSignal(false);
  const [status, setStatus] = createSignal<'loading' | 'ready' | 'error'>('loading');
  const [error, setError] = createSignal<string>();
  const [more, setMore] = createSignal(false);

  const load = async (older = false) => {
    try {
      const last = events().at(-1);
      const page = await trpc.alerts.list.query({
        limit: PAGE_SIZE,
        unreadOnly: unreadOnly(),
        ...(older && last ? { beforeId: last.id } : {}),
      });
      setEvents(older ? [...events(), ...page.events] : page.events);
      setUnread(page.unread);
      setMore(page.events.length === PAGE_SIZE);
      setStatus('ready');
    } catch (e) {
      setError(errorMessageOf(e));
      setStatus('error');
    }
  };
  onMount(() => void load());
  useSubscription(() => trpc.alerts.feed.subscribe(undefined, { onData: () => void load() }));

  const markRead = async (which: { ids: number[] } | { all: true }) => {
    try {
      await trpc.alerts.markRead.mutate(which);
      await load();
    } catch (e) {
      setError(errorMessageOf(e));
    }
  };

  return (
    <Panel
      title="Notifications"
      flush
      meta={
        <span class="panel-actions">
          <span class="dim" data-testid="alerts-unread">
            {unread()} unread
          </span>
          <label class="check">
            <input
              type="checkbox"
              checked={unreadOnly()}
              onChange={(e) => {
                setUnreadOnly(e.currentTarget.checked);
                void load();
              }}
            />
            unread only
          </label>
          <button
            type="button"
            class="btn btn-sm"
            disabled={unread() === 0}
            onClick={() => void markRead({ all: true })}
          >
            Mark all read
          </button>
        </span>
      }
    >
      <div class="h-alerts">
        <Show
          when={status() !== 'error'}
          fallback={
            <EmptyState title="Could not load notifications" tone="error">
              {error()}
            </EmptyState>
          }
        >
          <Show
            when={events().length > 0}
            fallback={
              <EmptyState title={status() === 'loading' ? 'Loading…' : 'No notifications'}>
                Halts, reconciliation drift, waiting proposals, fills and the daily loss appear here.
              </EmptyState>
            }
          >
            <AlertItems events={events()} onMarkRead={(id) => void markRead({ ids: [id] })} />
            <Show when={more()}>
              <div class="table-foot">
                <button type="button" class="btn btn-sm" onClick={() => void load(true)}>
                  Older
                </button>
              </div>
            </Show>
          </Show>
        </Show>
      </div>
    </Panel>
  );
}

export default function AlertsPage() {
  const session = useSession();
  const isAdmin = () => session.me()?.activeDesk?.role === 'admin';
  return (
    <>
      <PageHeader title="Alerts" sub="Notifications of this desk, their thresholds, and signed webhooks" />
      <div class="alerts-page">
        <div class="alerts-stack">
          <Notifications />
          <AlertSettingsPanel canEdit={isAdmin()} />
        </div>
        <div class="alerts-stack">
          <Show
            when={isAdmin()}
            fallback={
              <Panel title="Webhooks">
                <EmptyState title="Desk admins configure webhooks">
                  Ask an admin of this desk to add or change an endpoint.
                </EmptyState>
              </Panel>
            }
          >
            <WebhookEndpointsPanel />
          </Show>
        </div>
      </div>
    </>
  );
}
