import { createSignal, onMount, Show } from 'solid-js';
import { type AuditEntry, AuditRows } from '../../components/audit-table.tsx';
import { InputField, SelectField } from '../../components/input-field.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { EmptyState, Panel } from '../../components/panel.tsx';
import { useSession } from '../../lib/session.tsx';
import { errorCodeOf, errorMessageOf, trpc } from '../../lib/trpc.ts';

type Verification =
  | { kind: 'idle' }
  | { kind: 'running' }
  | { kind: 'ok'; text: string }
  | { kind: 'bad'; text: string };
type Outcome = AuditEntry['outcome'];
const PAGE_SIZE = 100;

/** The desk's audit log: filter by action and outcome, page back through history, verify. */
function AuditLog() {
  const [items, setItems] = createSignal<readonly AuditEntry[]>([]);
  const [cursor, setCursor] = createSignal<string | null>(null);
  const [status, setStatus] = createSignal<'loading' | 'ready' | 'error'>('loading');
  const [error, setError] = createSignal<string>();
  const [filters, setFilters] = createSignal<{ action?: string; outcome?: Outcome }>({});
  const [verification, setVerification] = createSignal<Verification>({ kind: 'idle' });

  const load = async (more: boolean) => {
    setStatus('loading');
    try {
      const page = await trpc.audit.list.query({
        limit: PAGE_SIZE,
        ...filters(),
        ...(more && cursor() ? { cursor: cursor()! } : {}),
      });
      setItems(more ? [...items(), ...page.items] : page.items);
      setCursor(page.nextCursor);
      setStatus('ready');
    } catch (e) {
      if (errorCodeOf(e) === 'UNAUTHORIZED') {
        window.location.assign('/login?next=%2Faudit');
        return;
      }
      setError(errorMessageOf(e));
      setStatus('error');
    }
  };
  onMount(() => void load(false));

  const applyFilters = (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const action = String(form.get('action') ?? '').trim();
    const outcome = String(form.get('outcome') ?? '');
    setFilters({
      ...(action ? { action } : {}),
      ...(outcome ? { outcome: outcome as Outcome } : {}),
    });
    void load(false);
  };

  const verify = async () => {
    setVerification({ kind: 'running' });
    try {
      const result = await trpc.audit.verify.query({});
      setVerification(
        result.ok
          ? {
              kind: 'ok',
              text: `Chain intact: ${result.rows} ${result.rows === 1 ? 'entry' : 'entries'} verified`,
            }
          : {
              kind: 'bad',
              text: `Chain broken at seq ${result.brokenAtSeq} (${result.reason.replaceAll('_', ' ')})`,
            },
      );
    } catch (e) {
      setVerification({ kind: 'bad', text: errorMessageOf(e) });
    }
  };

  return (
    <Panel
      title="Audit log"
      flush
      meta={
        <span class="panel-actions">
          <Show when={verification().kind === 'ok' || verification().kind === 'bad'}>
            <span
              class={`tag ${verification().kind === 'ok' ? 'tag-ok' : 'tag-bad'}`}
              role="status"
              aria-live="polite"
            >
              {(verification() as { text: string }).text}
            </span>
          </Show>
          <button type="button" class="btn" disabled={verification().kind === 'running'} onClick={verify}>
            {verification().kind === 'running' ? 'Verifying…' : 'Verify chain'}
          </button>
        </span>
      }
    >
      <form class="inline-form" onSubmit={applyFilters} aria-label="Filter the audit log">
        <InputField
          label="Action"
          id="audit-action"
          name="action"
          maxLength={128}
          placeholder="e.g. keys. or auth.login"
        />
        <SelectField label="Outcome" id="audit-outcome" name="outcome" class="select">
          <option value="">any</option>
          <option value="ok">ok</option>
          <option value="denied">denied</option>
          <option value="failed">failed</option>
        </SelectField>
        <button type="submit" class="btn">
          Apply
        </button>
        <span class="dim form-note">
          {items().length} {items().length === 1 ? 'entry' : 'entries'} shown
        </span>
      </form>
      <div class="h-audit">
        <Show
          when={status() !== 'error'}
          fallback={
            <EmptyState title="Could not load the audit log" tone="error">
              {error()}
            </EmptyState>
          }
        >
          <Show
            when={items().length > 0 || status() === 'loading'}
            fallback={<EmptyState title="No matching audit entries" />}
          >
            <div class="audit-scroll">
              <AuditRows items={items()} loading={items().length === 0 && status() === 'loading'} />
              <div class="table-foot">
                <Show
                  when={cursor()}
                  fallback={
                    <span class="dim">{status() === 'loading' ? 'Loading…' : 'Start of the log'}</span>
                  }
                >
                  <button
                    type="button"
                    class="btn"
                    disabled={status() === 'loading'}
                    onClick={() => void load(true)}
                  >
                    {status() === 'loading' ? 'Loading…' : 'Load older entries'}
                  </button>
                </Show>
              </div>
            </div>
          </Show>
        </Show>
      </div>
    </Panel>
  );
}

export default function AuditPage() {
  const session = useSession();
  const isAdmin = () => session.me()?.activeDesk?.role === 'admin';
  return (
    <>
      <PageHeader title="Audit" sub="Append-only, hash-chained log of every security and trading action" />
      <Show
        when={isAdmin()}
        fallback={
          <Panel title="Audit log" bodyClass="h-list">
            <EmptyState title="Visible to desk admins">
              The audit log of a desk is readable by its admins.
            </EmptyState>
          </Panel>
        }
      >
        <AuditLog />
      </Show>
    </>
  );
}
