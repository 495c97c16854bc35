import { createSignal, For, Show } from 'solid-js';
import { createFormAction } from '../lib/form-action.ts';
import { createQuery } from '../lib/query.ts';
import { errorMessageOf, type RouterInputs, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { DataTable } from './data-table/data-table.tsx';
import { PanelErrorAlert } from './error-alert.tsx';
import { InputField, SelectField } from './input-field.tsx';
import { Panel, QueryView } from './panel.tsx';
import { PanelSecretOnce } from './secret-once.tsx';

type ApiKey = RouterOutputs['keys']['list'][number];
type Scope = RouterInputs['keys']['create']['scopes'][number];
const SCOPES: readonly { value: Scope; hint: string }[] = [
  { value: 'read', hint: 'read desk data' },
  { value: 'trade', hint: 'propose and place trades' },
  { value: 'admin', hint: 'manage keys and desk settings' },
];

function day(ts: string | null): string {
  return ts ? ts.slice(0, 10) : '—';
}

function statusOf(key: ApiKey): { label: string; tone: string } {
  if (key.revokedAt) return { label: 'revoked', tone: 'tag-bad' };
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) return { label: 'expired', tone: 'tag-warn' };
  return { label: 'active', tone: 'tag-ok' };
}

/**
 * API keys of the active desk, for scripts (`AEGIS_API_KEY`). The key is shown once at
 * creation; the server stores only its hash. Admins see every key of the desk, others their own.
 */
export function ApiKeysPanel() {
  const keys = createQuery(() => trpc.keys.list.query());
  const [secret, setSecret] = createSignal<string>();
  const { pending, error, setError, run } = createFormAction();

  const create = (event: SubmitEvent) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    const scopes = SCOPES.map((s) => s.value).filter((s) => form.get(`scope-${s}`) === 'on');
    const days = Number(form.get('expiresInDays'));
    return run(
      async () => {
        const created = await trpc.keys.create.mutate({
          name: String(form.get('name') ?? ''),
          scopes,
          ...(days > 0 ? { expiresInDays: days } : {}),
        });
        setSecret(created.key);
        // Only the name: the chosen scopes and expiry are likely the same for the next key.
        (formElement.elements.namedItem('name') as HTMLInputElement).value = '';
        await keys.refetch();
      },
      (e) => (scopes.length === 0 ? 'Choose at least one scope.' : errorMessageOf(e)),
    );
  };

  // Not the form's submit (the create button stays enabled), but the same error line.
  const revoke = async (key: ApiKey) => {
    setError(undefined);
    try {
      await trpc.keys.revoke.mutate({ keyId: key.id });
      await keys.refetch();
    } catch (e) {
      setError(errorMessageOf(e));
    }
  };

  return (
    <Panel title="API keys" meta="For scripts: AEGIS_API_KEY" flush>
      <form class="inline-form" onSubmit={create} aria-label="Create an API key">
        <InputField
          label="Name"
          id="key-name"
          name="name"
          required
          maxLength={100}
          placeholder="e.g. nightly-report"
        />
        <fieldset class="scope-set">
          <legend>Scopes</legend>
          <For each={SCOPES}>
            {(scope) => (
              <label class="check" title={scope.hint}>
                <input type="checkbox" name={`scope-${scope.value}`} checked={scope.value === 'read'} />
                {scope.value}
              </label>
            )}
          </For>
        </fieldset>
        <SelectField label="Expires" id="key-expiry" name="expiresInDays" class="select">
          <option value="90">in 90 days</option>
          <option value="30">in 30 days</option>
          <option value="365">in 1 year</option>
          <option value="0">never</option>
        </SelectField>
        <button type="submit" class="btn btn-primary" disabled={pending()}>
          {pending() ? 'Creating…' : 'Create key'}
        </button>
      </form>
      <PanelErrorAlert message={error()} />
      <PanelSecretOnce
        label="New API key"
        value={secret()}
        note="Copy it now: it is shown once and cannot be retrieved later."
        onDismiss={() => setSecret(undefined)}
      />
      <div class="h-keys">
        <QueryView query={keys} errorTitle="Could not load API keys">
          {(list) => (
            <DataTable
              label="API keys of this desk"
              rows={list}
              empty="No API keys on this desk"
              fill
              columns={[
                { id: 'name', header: 'Name', cell: (key) => key.name },
                { id: 'prefix', header: 'Prefix', class: 'mono dim', priority: 2, cell: (key) => key.prefix },
                { id: 'scopes', header: 'Scopes', priority: 3, cell: (key) => key.scopes.join(', ') },
                {
                  id: 'created',
                  header: 'Created',
                  class: 'mono dim',
                  priority: 3,
                  cell: (key) => day(key.createdAt),
                },
                {
                  id: 'expires',
                  header: 'Expires',
                  class: 'mono dim',
                  priority: 3,
                  cell: (key) => (key.expiresAt ? day(key.expiresAt) : 'never'),
                },
                {
                  id: 'used',
                  header: 'Last used',
                  class: 'mono dim',
                  priority: 2,
                  cell: (key) => day(key.lastUsedAt),
                },
                {
                  id: 'status',
                  header: 'Status',
                  cell: (key) => <span class={`tag ${statusOf(key).tone}`}>{statusOf(key).label}</span>,
                },
              ]}
              actions={(key) => (
                <Show when={!key.revokedAt}>
                  <button
                    type="button"
                    class="btn btn-danger btn-sm"
                    aria-label={`Revoke key ${key.name}`}
                    onClick={() => void revoke(key)}
                  >
                    Revoke
                  </button>
                </Show>
              )}
            />
          )}
        </QueryView>
      </div>
    </Panel>
  );
}
