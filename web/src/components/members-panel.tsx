import { createSignal, For, Show } from 'solid-js';
import { createFormAction } from '../lib/form-action.ts';
import { createQuery } from '../lib/query.ts';
import { useSession } from '../lib/session.tsx';
import { errorMessageOf, type RouterInputs, trpc } from '../lib/trpc.ts';
import { DataTable } from './data-table/data-table.tsx';
import { PanelErrorAlert } from './error-alert.tsx';
import { InputField, SelectField } from './input-field.tsx';
import { Panel, QueryView } from './panel.tsx';
import { PanelSecretOnce } from './secret-once.tsx';

type Role = RouterInputs['users']['create']['role'];
const ROLES: readonly { value: Role; label: string }[] = [
  { value: 'viewer', label: 'viewer (read only)' },
  { value: 'trader', label: 'trader (trades, approves)' },
  { value: 'admin', label: 'admin (manages desk)' },
];

/**
 * Members of the active desk (desk admins). A new member gets a one-time password, shown here
 * once, which they must replace at first sign-in.
 */
export function MembersPanel() {
  const session = useSession();
  const members = createQuery(() => trpc.users.list.query());
  const [notice, setNotice] = createSignal<string>();
  const { pending, error, setError, run } = createFormAction();

  // Changing a role ends the member's sessions (they sign in again under the new role);
  // revoking it also revokes their keys on this desk. The server keeps at least one admin.
  const changeRole = async (userId: string, email: string, role: Role | null, select: HTMLSelectElement) => {
    setError(undefined);
    setNotice(undefined);
    try {
      const result = await trpc.users.setRole.mutate({ userId, role });
      setNotice(
        role === null
          ? `${email} removed from the desk; ${result.sessionsEnded} sessions ended, ${result.keysRevoked} keys revoked.`
          : `${email}: ${result.previousRole ?? 'none'} → ${result.role}; ${result.sessionsEnded} sessions ended.`,
      );
    } catch (e) {
      setError(errorMessageOf(e));
    }
    await members.refetch();
    // Keep the control in step with the server even when the change was refused.
    const current = members.state();
    if (current.status === 'ready') {
      select.value = current.data.find((m) => m.userId === userId)?.role ?? '';
    }
  };
  const [created, setCreated] = createSignal<{ email: string; password: string }>();

  const add = (event: SubmitEvent) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    return run(async () => {
      const result = await trpc.users.create.mutate({
        email: String(form.get('email') ?? ''),
        displayName: String(form.get('displayName') ?? ''),
        role: String(form.get('role')) as Role,
      });
      if (result.oneTimePassword)
        setCreated({ email: result.member.email, password: result.oneTimePassword });
      formElement.reset();
      await members.refetch();
    });
  };

  return (
    <Panel title="Desk members" meta="Roles on this desk" flush>
      <form class="inline-form" onSubmit={add} aria-label="Add a member">
        <InputField
          label="Email"
          id="member-email"
          name="email"
          type="email"
          required
          maxLength={254}
          autocomplete="off"
        />
        <InputField
          label="Name"
          id="member-name"
          name="displayName"
          required
          maxLength={100}
          autocomplete="off"
        />
        <SelectField label="Role" id="member-role" name="role" class="select">
          <For each={ROLES}>{(role) => <option value={role.value}>{role.label}</option>}</For>
        </SelectField>
        <button type="submit" class="btn btn-primary" disabled={pending()}>
          {pending() ? 'Adding…' : 'Add member'}
        </button>
      </form>
      <PanelErrorAlert message={error()} />
      <Show when={notice()}>
        <div class="panel-body">
          <div class="alert alert-info" role="status">
            {notice()}
          </div>
        </div>
      </Show>
      <PanelSecretOnce
        label={`One-time password for ${created()?.email}`}
        value={created()?.password}
        note="Hand it over securely; it is shown once and must be changed at first sign-in."
        onDismiss={() => setCreated(undefined)}
      />
      <div class="h-keys">
        <QueryView query={members} errorTitle="Could not load members">
          {(list) => (
            <DataTable
              label="Members of this desk"
              rows={list}
              empty="No members"
              fill
              columns={[
                { id: 'name', header: 'Name', priority: 2, cell: (m) => m.displayName },
                { id: 'email', header: 'Email', class: 'mono', cell: (m) => m.email },
                {
                  id: 'role',
                  header: 'Role',
                  cell: (m) => (
                    <Show
                      when={m.userId !== session.me()?.user.id}
                      fallback={<span class="role-badge">{m.role} (you)</span>}
                    >
                      <select
                        class="select select-sm"
                        aria-label={`Role of ${m.email}`}
                        onChange={(e) =>
                          void changeRole(
                            m.userId,
                            m.email,
                            e.currentTarget.value === '' ? null : (e.currentTarget.value as Role),
                            e.currentTarget,
                          )
                        }
                      >
                        <For each={ROLES}>
                          {(role) => (
                            <option value={role.value} selected={role.value === m.role}>
                              {role.value}
                            </option>
                          )}
                        </For>
                        <option value="">remove from desk</option>
                      </select>
                    </Show>
                  ),
                },
                {
                  id: 'since',
                  header: 'Since',
                  class: 'mono dim',
                  priority: 3,
                  cell: (m) => m.createdAt.slice(0, 10),
                },
                {
                  id: 'status',
                  header: 'Status',
                  priority: 2,
                  cell: (m) => (
                    <span class={`tag ${m.disabled ? 'tag-bad' : 'tag-ok'}`}>
                      {m.disabled ? 'disabled' : 'active'}
                    </span>
                  ),
                },
              ]}
            />
          )}
        </QueryView>
      </div>
    </Panel>
  );
}
