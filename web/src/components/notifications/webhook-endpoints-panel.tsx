import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { createFormAction } from '../../lib/form-action.ts';
import { createQuery } from '../../lib/query.ts';
import { errorMessageOf, type RouterInputs, type RouterOutputs, trpc } from '../../lib/trpc.ts';
import { DataTable } from '../data-table/data-table.tsx';
import { ErrorAlert, PanelErrorAlert } from '../error-alert.tsx';
import { InputField, SelectField } from '../input-field.tsx';
import { EmptyState, Panel, QueryView } from '../panel.tsx';
import { PanelSecretOnce } from '../secret-once.tsx';
import { utcTime } from './alert-items.tsx';

type Endpoint = RouterOutputs['alerts']['endpoints'][number];
type Attempt = RouterOutputs['alerts']['deliveries'][number];
type EventKind = RouterInputs['alerts']['createEndpoint']['events'][number];
type Format = NonNullable<RouterInputs['alerts']['createEndpoint']['format']>;

const EVENTS: readonly { value: EventKind; label: string }[] = [
  { value: 'halt.engaged', label: 'halt engaged' },
  { value: 'halt.released', label: 'halt released' },
  { value: 'reconcile.drift', label: 'reconciliation drift' },
  { value: 'proposal.waiting', label: 'proposal waiting' },
  { value: 'order.filled', label: 'fill' },
  { value: 'daily_loss.near', label: 'daily loss near limit' },
];
const FORMATS: readonly { value: Format; label: string }[] = [
  { value: 'aegis', label: 'Aegis (signed JSON)' },
  { value: 'slack', label: 'Slack incoming webhook' },
  { value: 'discord', label: 'Discord webhook' },
];

const OUTCOME_TAG: Record<Attempt['outcome'], string> = {
  delivered: 'tag tag-ok',
  retry: 'tag tag-warn',
  dead: 'tag tag-bad',
};

/** The delivery log of one endpoint, refreshed every 2 s while shown. */
function DeliveryLog(props: { endpoint: Endpoint }) {
  const [attempts, setAttempts] = createSignal<readonly Attempt[] | null>(null);
  const [error, setError] = createSignal<string>();
  const load = async () => {
    try {
      setAttempts(await trpc.alerts.deliveries.query({ endpointId: props.endpoint.id }));
      setError(undefined);
    } catch (e) {
      setError(errorMessageOf(e));
    }
  };
  onMount(() => {
    void load();
    const timer = setInterval(() => void load(), 2000);
    onCleanup(() => clearInterval(timer));
  });
  return (
    <Panel title={`Delivery log: ${props.endpoint.name}`} id="delivery-log" flush meta="last 50 attempts">
      <PanelErrorAlert message={error()} />
      <div class="h-deliveries">
        <DataTable
          label={`Delivery attempts of ${props.endpoint.name}`}
          rows={attempts() ?? []}
          loading={attempts() === null}
          empty="No deliveries yet: send a test event"
          fill
          tableAttrs={{ 'data-testid': 'delivery-log' }}
          columns={[
            { id: 'at', header: 'Time', class: 'mono dim', cell: (a) => utcTime(a.createdAt) },
            { id: 'event', header: 'Event', cell: (a) => a.kind },
            { id: 'attempt', header: 'Attempt', numeric: true, cell: (a) => a.attempt },
            {
              id: 'outcome',
              header: 'Outcome',
              cell: (a) => <span class={OUTCOME_TAG[a.outcome]}>{a.outcome}</span>,
            },
            { id: 'status', header: 'HTTP', numeric: true, cell: (a) => a.statusCode ?? '—' },
            {
              id: 'latency',
              header: 'Latency',
              numeric: true,
              priority: 2,
              cell: (a) => `${a.latencyMs} ms`,
            },
            { id: 'error', header: 'Error', wrap: true, priority: 2, cell: (a) => a.error ?? '' },
          ]}
        />
      </div>
    </Panel>
  );
}

/**
 * Webhook endpoints of the desk (desk admins): create one (its signing secret is shown once),
 * choose its events, send a test event, pause, delete, and read its delivery log.
 */
export function WebhookEndpointsPanel() {
  const endpoints = createQuery(() => trpc.alerts.endpoints.query(), { pollMs: 5000 });
  const [secret, setSecret] = createSignal<string>();
  const { pending, error, setError, run } = createFormAction();
  const [selected, setSelected] = createSignal<Endpoint>();

  const create = (event: SubmitEvent) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    const events = EVENTS.map((e) => e.value).filter((e) => form.get(`event-${e}`) === 'on');
    return run(
      async () => {
        const created = await trpc.alerts.createEndpoint.mutate({
          name: String(form.get('name') ?? ''),
          url: String(form.get('url') ?? ''),
          format: String(form.get('format') ?? 'aegis') as Format,
          events,
        });
        setSecret(created.secret);
        // Name and URL only: the format and events are likely the same for the next endpoint.
        for (const field of ['name', 'url'])
          (formElement.elements.namedItem(field) as HTMLInputElement).value = '';
        await endpoints.refetch();
        setSelected(created.endpoint);
      },
      (e) => (events.length === 0 ? 'Choose at least one event.' : errorMessageOf(e)),
    );
  };

  const act = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
      await endpoints.refetch();
    } catch (e) {
      setError(errorMessageOf(e));
    }
  };

  return (
    <>
      <Panel title="Webhooks" meta="Signed HTTPS POSTs per event" flush>
        <form class="inline-form" onSubmit={create} aria-label="Add a webhook endpoint">
          <InputField
            label="Name"
            id="hook-name"
            name="name"
            required
            maxLength={80}
            placeholder="e.g. desk pager"
          />
          <InputField
            label="URL"
            id="hook-url"
            name="url"
            type="url"
            required
            maxLength={2000}
            placeholder="https://…"
          />
          <SelectField label="Format" id="hook-format" name="format" class="select">
            <For each={FORMATS}>{(f) => <option value={f.value}>{f.label}</option>}</For>
          </SelectField>
          <fieldset class="event-set">
            <legend>Events</legend>
            <For each={EVENTS}>
              {(e) => (
                <label class="check">
                  <input
                    type="checkbox"
                    name={`event-${e.value}`}
                    checked={e.value === 'halt.engaged' || e.value === 'halt.released'}
                  />
                  {e.label}
                </label>
              )}
            </For>
          </fieldset>
          <button type="submit" class="btn btn-primary" disabled={pending()}>
            {pending() ? 'Adding…' : 'Add endpoint'}
          </button>
        </form>
        <PanelErrorAlert message={error()} />
        <PanelSecretOnce
          label="Signing secret"
          value={secret()}
          note="Copy it into the receiver now: it is shown once. docs/alerts.md shows how to verify."
          onDismiss={() => setSecret(undefined)}
        />
        <div class="h-endpoints">
          <QueryView query={endpoints} errorTitle="Could not load the endpoints">
            {(list) => (
              <DataTable
                label="Webhook endpoints of this desk"
                rows={list}
                empty="No webhook endpoints yet"
                fill
                tableAttrs={{ 'data-testid': 'endpoints' }}
                onRowClick={(e) => setSelected(e)}
                rowAttrs={(e) => ({ 'aria-selected': selected()?.id === e.id ? 'true' : 'false' })}
                columns={[
                  { id: 'name', header: 'Name', rowHeader: true, cell: (e) => e.name },
                  { id: 'target', header: 'Target', class: 'mono dim', priority: 3, cell: (e) => e.target },
                  { id: 'format', header: 'Format', priority: 3, cell: (e) => e.format },
                  {
                    id: 'events',
                    header: 'Events',
                    wrap: true,
                    priority: 3,
                    cell: (e) => e.events.join(', '),
                  },
                  {
                    id: 'last',
                    header: 'Last delivery',
                    cell: (e) =>
                      e.lastDelivery ? (
                        <span class={OUTCOME_TAG[e.lastDelivery.outcome]}>
                          {e.lastDelivery.outcome}
                          {e.lastDelivery.statusCode !== null ? ` ${e.lastDelivery.statusCode}` : ''}
                        </span>
                      ) : (
                        <span class="dim">—</span>
                      ),
                  },
                  {
                    id: 'state',
                    header: 'State',
                    priority: 2,
                    cell: (e) => (e.enabled ? 'on' : <span class="dim">paused</span>),
                  },
                ]}
                actions={(e) => (
                  <>
                    <button
                      type="button"
                      class="btn btn-sm"
                      aria-label={`Send a test event to ${e.name}`}
                      disabled={!e.enabled}
                      onClick={() =>
                        void act(async () => {
                          await trpc.alerts.sendTest.mutate({ endpointId: e.id });
                          setSelected(e);
                        })
                      }
                    >
                      Send test
                    </button>
                    <button
                      type="button"
                      class="btn btn-sm"
                      aria-label={`Show the delivery log of ${e.name}`}
                      onClick={() => setSelected(e)}
                    >
                      Log
                    </button>
                    <button
                      type="button"
                      class="btn btn-ghost btn-sm"
                      aria-label={`${e.enabled ? 'Pause' : 'Resume'} ${e.name}`}
                      onClick={() =>
                        void act(() =>
                          trpc.alerts.updateEndpoint.mutate({ endpointId: e.id, enabled: !e.enabled }),
                        )
                      }
                    >
                      {e.enabled ? 'Pause' : 'Resume'}
                    </button>
                    <button
                      type="button"
                      class="btn btn-danger btn-sm"
                      aria-label={`Delete ${e.name}`}
                      onClick={() =>
                        void act(async () => {
                          await trpc.alerts.deleteEndpoint.mutate({ endpointId: e.id });
                          if (selected()?.id === e.id) setSelected(undefined);
                        })
                      }
                    >
                      Delete
                    </button>
                  </>
                )}
              />
            )}
          </QueryView>
        </div>
      </Panel>
      <Show
        when={selected()}
        keyed
        fallback={
          <Panel title="Delivery log" id="delivery-log">
            <EmptyState title="Choose an endpoint">Its last 50 delivery attempts appear here.</EmptyState>
          </Panel>
        }
      >
        {(e) => <DeliveryLog endpoint={e} />}
      </Show>
    </>
  );
}

/** The desk's thresholds: how long a proposal may wait, and when the daily loss warns. */
export function AlertSettingsPanel(props: { canEdit: boolean }) {
  const settings = createQuery(() => trpc.alerts.settings.query({}));
  const [error, setError] = createSignal<string>();
  const [saved, setSaved] = createSignal(false);
  const save = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setError(undefined);
    setSaved(false);
    try {
      await trpc.alerts.updateSettings.mutate({
        proposalWaitMinutes: Number(form.get('wait')),
        dailyLossWarnPct: Number(form.get('pct')),
      });
      setSaved(true);
      await settings.refetch();
    } catch (e) {
      setError(errorMessageOf(e));
    }
  };
  return (
    <Panel title="Alert thresholds">
      <QueryView query={settings} errorTitle="Could not load the thresholds">
        {(s) => (
          <form class="inline-form" onSubmit={save} aria-label="Alert thresholds">
            <InputField
              label="Proposal waiting after (min)"
              id="alert-wait"
              name="wait"
              type="number"
              min="1"
              max="1440"
              value={s.proposalWaitMinutes}
              disabled={!props.canEdit}
            />
            <InputField
              label="Daily loss warns at (% of limit)"
              id="alert-pct"
              name="pct"
              type="number"
              min="1"
              max="100"
              value={s.dailyLossWarnPct}
              disabled={!props.canEdit}
            />
            <Show when={props.canEdit}>
              <button type="submit" class="btn">
                Save
              </button>
            </Show>
            <Show when={saved()}>
              <span class="tag tag-ok" role="status">
                Saved
              </span>
            </Show>
            <Show when={error()}>
              <ErrorAlert message={error()} />
            </Show>
          </form>
        )}
      </QueryView>
    </Panel>
  );
}
