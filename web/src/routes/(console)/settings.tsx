import { A } from '@solidjs/router';
import { Show } from 'solid-js';
import { AgentSettingsPanel } from '../../components/agent-settings-panel.tsx';
import { ApiKeysPanel } from '../../components/api-keys-panel.tsx';
import { DataTable } from '../../components/data-table/data-table.tsx';
import { PanelErrorAlert } from '../../components/error-alert.tsx';
import { InputField } from '../../components/input-field.tsx';
import { MembersPanel } from '../../components/members-panel.tsx';
import { PageHeader } from '../../components/page-header.tsx';
import { Panel } from '../../components/panel.tsx';
import { RiskLimitsPanel } from '../../components/risk-limits-panel.tsx';
import { createFormAction } from '../../lib/form-action.ts';
import { useSession } from '../../lib/session.tsx';
import { trpc } from '../../lib/trpc.ts';

/** Platform administrators create desks; the creator becomes the new desk's admin. */
function CreateDeskForm(props: { onCreated: () => Promise<void> }) {
  const { pending, error, run } = createFormAction();
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const name = String(new FormData(formElement).get('name') ?? '');
    return run(async () => {
      await trpc.desks.create.mutate({ name });
      formElement.reset();
      await props.onCreated();
    });
  };
  return (
    <>
      <form class="inline-form" onSubmit={submit} aria-label="Create a desk">
        <InputField label="New desk" id="desk-name" name="name" required maxLength={100} autocomplete="off" />
        <button type="submit" class="btn" disabled={pending()}>
          {pending() ? 'Creating…' : 'Create desk'}
        </button>
      </form>
      <PanelErrorAlert message={error()} />
    </>
  );
}

export default function SettingsPage() {
  const session = useSession();
  const me = () => session.me();
  const desk = () => me()?.activeDesk ?? null;
  return (
    <>
      <PageHeader
        title="Settings"
        sub={`Your account, desks, risk limits, API keys${desk()?.role === 'admin' ? ' and desk members' : ''}`}
      />
      <div class="settings-grid">
        <div class="settings-stack">
          <Panel title="Account">
            <dl class="kv">
              <dt>Name</dt>
              <dd>{me()?.user.displayName || '—'}</dd>
              <dt>Email</dt>
              <dd>{me()?.user.email}</dd>
              <dt>Platform admin</dt>
              <dd>{me()?.user.isPlatformAdmin ? 'Yes' : 'No'}</dd>
              <dt>Session expires</dt>
              <dd class="mono">
                {me()?.expiresAt ? `${me()!.expiresAt!.slice(0, 16).replace('T', ' ')} UTC` : '—'}
              </dd>
              <dt>Password</dt>
              <dd>
                <A href="/change-password">Change password</A>
              </dd>
            </dl>
          </Panel>
          <Panel title="Desks" flush meta="Switch with the desk selector in the top bar">
            <Show when={me()?.user.isPlatformAdmin}>
              <CreateDeskForm onCreated={session.refresh} />
            </Show>
            <DataTable
              label="Desks you belong to and your role on each"
              rows={me()?.desks ?? []}
              empty="You are not a member of any desk."
              columns={[
                { id: 'desk', header: 'Desk', cell: (d) => d.name },
                { id: 'role', header: 'Role', cell: (d) => <span class="role-badge">{d.role}</span> },
                {
                  id: 'active',
                  header: 'Active',
                  cell: (d) => (
                    <Show when={d.id === desk()?.id} fallback={<span class="dim">—</span>}>
                      <span class="tag tag-ok">active</span>
                    </Show>
                  ),
                },
              ]}
            />
          </Panel>
          <Show when={desk()?.role === 'admin'}>
            <AgentSettingsPanel />
          </Show>
        </div>
        <div class="settings-stack">
          <Show when={desk()}>
            <ApiKeysPanel />
          </Show>
          <Show when={desk()?.role === 'admin'}>
            <MembersPanel />
          </Show>
        </div>
      </div>
      {/* Full width: fifteen limits with value, source and actions do not fit a settings column. */}
      <Show when={desk()}>
        <RiskLimitsPanel canEdit={desk()?.role === 'admin'} />
      </Show>
    </>
  );
}
