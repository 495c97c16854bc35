import { Title } from '@solidjs/meta';
import { A } from '@solidjs/router';
import { For, Show } from 'solid-js';
import { ApiKeysPanel } from '../../components/api-keys-panel.tsx';
import { MembersPanel } from '../../components/members-panel.tsx';
import { Panel } from '../../components/panel.tsx';
import { useSession } from '../../lib/session.tsx';

export default function SettingsPage() {
  const session = useSession();
  const me = () => session.me();
  const desk = () => me()?.activeDesk ?? null;
  return (
    <>
      <Title>Settings · Aegis</Title>
      <div class="page-header">
        <h1>Settings</h1>
        <span class="page-sub">
          Your account, desks, API keys{desk()?.role === 'admin' ? ' and desk members' : ''}
        </span>
      </div>
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
          <Panel title="Desks" flush>
            <table class="table">
              <caption class="visually-hidden">Desks you belong to and your role on each</caption>
              <thead>
                <tr>
                  <th scope="col">Desk</th>
                  <th scope="col">Role</th>
                  <th scope="col">Active</th>
                </tr>
              </thead>
              <tbody>
                <For
                  each={me()?.desks ?? []}
                  fallback={
                    <tr>
                      <td colSpan={3} class="dim">
                        You are not a member of any desk.
                      </td>
                    </tr>
                  }
                >
                  {(d) => (
                    <tr>
                      <td>{d.name}</td>
                      <td>
                        <span class="role-badge">{d.role}</span>
                      </td>
                      <td>
                        <Show when={d.id === desk()?.id} fallback={<span class="dim">—</span>}>
                          <span class="tag tag-ok">active</span>
                        </Show>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </Panel>
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
    </>
  );
}
