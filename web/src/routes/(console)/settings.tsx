import { Title } from '@solidjs/meta';
import { A } from '@solidjs/router';
import { For, Show } from 'solid-js';
import { Panel } from '../../components/panel.tsx';
import { useSession } from '../../lib/session.tsx';

export default function SettingsPage() {
  const session = useSession();
  const me = () => session.me();
  return (
    <>
      <Title>Settings · Aegis</Title>
      <div class="page-header">
        <h1>Settings</h1>
        <span class="page-sub">Your account and desks</span>
      </div>
      <div class="settings-grid">
        <Panel title="Account">
          <dl class="kv">
            <dt>Name</dt>
            <dd>{me()?.user.displayName || '—'}</dd>
            <dt>Email</dt>
            <dd>{me()?.user.email}</dd>
            <dt>Platform admin</dt>
            <dd>{me()?.user.isPlatformAdmin ? 'Yes' : 'No'}</dd>
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
                {(desk) => (
                  <tr>
                    <td>{desk.name}</td>
                    <td>
                      <span class="role-badge">{desk.role}</span>
                    </td>
                    <td>
                      <Show when={desk.id === me()?.activeDesk?.id} fallback={<span class="dim">—</span>}>
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
    </>
  );
}
