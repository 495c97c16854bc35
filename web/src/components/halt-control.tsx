import { createSignal, Show } from 'solid-js';
import { createFormAction, reauthFailure } from '../lib/form-action.ts';
import { useLiveHalt } from '../lib/live-halt.ts';
import { useSession } from '../lib/session.tsx';
import { type RouterOutputs, trpc } from '../lib/trpc.ts';
import { ErrorAlert } from './error-alert.tsx';
import { InputField } from './input-field.tsx';
import { PasswordField } from './password-field.tsx';

type Halt = RouterOutputs['halt']['status'];

const GLOBAL_HOLDS =
  'A global halt is in force: releasing this desk would not resume trading. A platform administrator must release the global halt first.';

export type { HaltView } from '../lib/live-halt.ts';

/**
 * The halt, always in the top bar: its live state (halt.updates over SSE: the current
 * state first, then every change from any process) and, for those allowed, the control.
 * Traders engage it; desk admins release it. Both re-enter their password first (the server
 * requires a recent re-authentication for either). Platform administrators also engage and
 * release the GLOBAL halt (every desk). A desk release never lifts the global halt, so while it
 * holds the desk release is disabled and says why.
 */
export function HaltControl() {
  const session = useSession();
  // The console's one halt stream (shared with the ticket and the approvals queue).
  const halt = useLiveHalt();
  const view = halt.view;
  const setView = (v: { kind: 'known'; state: Halt }) => halt.set(v.state);
  let dialog: HTMLDialogElement | undefined;
  const { pending, error, setError, run } = createFormAction();

  const role = () => session.me()?.activeDesk?.role;
  const deskEngaged = () => {
    const v = view();
    return v.kind === 'known' && v.state.desk.engaged;
  };
  const globalEngaged = () => {
    const v = view();
    return v.kind === 'known' && v.state.global.engaged;
  };
  const canEngage = () => role() === 'admin' || role() === 'trader';
  const canRelease = () => role() === 'admin' && deskEngaged();
  // Global scope: platform administrators who can engage on the active desk (the server checks both).
  const canGlobal = () =>
    Boolean(session.me()?.user.isPlatformAdmin) && canEngage() && view().kind === 'known';

  // What the open dialog does is fixed when it opens: the live state may change meanwhile
  // (another trader, another process), and the dialog must not switch action under the user.
  const [mode, setMode] = createSignal<'engage' | 'release'>('engage');
  const [scope, setScope] = createSignal<'desk' | 'global'>('desk');
  const open = (which: 'desk' | 'global') => {
    setError(undefined);
    setScope(which);
    setMode((which === 'global' ? globalEngaged() : deskEngaged()) ? 'release' : 'engage');
    dialog?.showModal();
  };
  const title = () =>
    scope() === 'global'
      ? mode() === 'release'
        ? 'Release the global halt'
        : 'Halt trading on every desk'
      : mode() === 'release'
        ? 'Release the halt'
        : 'Halt trading on this desk';
  const explanation = () =>
    scope() === 'global'
      ? mode() === 'release'
        ? 'Trading resumes on every desk within risk limits, except desks whose own switch is engaged.'
        : 'Global halt: every desk on the platform refuses new orders and working orders are cancelled. Only risk-reducing orders pass.'
      : mode() === 'release'
        ? 'Trading resumes within risk limits. A global halt, if any, stays in force.'
        : 'New orders are refused and working orders are cancelled. Only risk-reducing orders pass.';

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    await run(async () => {
      await trpc.auth.reauthenticate.mutate({ password: String(form.get('password') ?? '') });
      if (mode() === 'release') {
        setView({ kind: 'known', state: await trpc.halt.release.mutate({ scope: scope() }) });
      } else {
        const result = await trpc.halt.engage.mutate({
          scope: scope(),
          reason: String(form.get('reason') ?? ''),
        });
        setView({ kind: 'known', state: result.state });
      }
      formElement.reset();
      dialog?.close();
    }, reauthFailure);
  };

  const pill = (): { state: 'live' | 'halted' | 'global' | 'unknown'; label: string; title: string } => {
    const v = view();
    if (v.kind === 'loading') return { state: 'unknown', label: 'Halt status…', title: 'Connecting' };
    if (v.kind === 'unknown') return { state: 'unknown', label: 'Halt status n/a', title: v.why };
    if (!v.state.halted) return { state: 'live', label: 'Trading live', title: 'Halt released' };
    const { global, desk } = v.state;
    if (global.engaged) {
      const why = global.reason ? `Global halt (all desks): ${global.reason}` : 'Global halt (all desks)';
      return {
        state: 'global',
        label: 'Global halt',
        title: desk.engaged
          ? `${why}. This desk is also halted${desk.reason ? `: ${desk.reason}` : ''}`
          : why,
      };
    }
    return {
      state: 'halted',
      label: 'Desk halted',
      title: desk.reason ? `Desk halted: ${desk.reason}` : 'Desk halted',
    };
  };

  return (
    <>
      <output class="status-pill" data-state={pill().state} title={pill().title} aria-live="polite">
        <span class="status-dot" aria-hidden="true" />
        <span>{pill().label}</span>
      </output>
      <Show when={(canEngage() && !deskEngaged() && view().kind === 'known') || canRelease()}>
        {/* A disabled button shows no tooltip in every browser: the wrapper carries it too. */}
        <span
          class="halt-wrap"
          data-held={deskEngaged() && globalEngaged() ? '' : undefined}
          title={deskEngaged() && globalEngaged() ? GLOBAL_HOLDS : undefined}
        >
          <button
            type="button"
            class={`btn btn-sm ${deskEngaged() ? '' : 'btn-halt'}`}
            onClick={() => open('desk')}
            aria-haspopup="dialog"
            disabled={deskEngaged() && globalEngaged()}
            title={
              deskEngaged() && globalEngaged()
                ? GLOBAL_HOLDS
                : deskEngaged()
                  ? 'Release this desk'
                  : 'Halt this desk'
            }
            aria-describedby={deskEngaged() && globalEngaged() ? 'halt-global-holds' : undefined}
          >
            {deskEngaged() ? 'Release' : 'Halt'}
          </button>
        </span>
        <span id="halt-global-holds" class="visually-hidden">
          {deskEngaged() && globalEngaged() ? GLOBAL_HOLDS : ''}
        </span>
      </Show>
      <Show when={canGlobal()}>
        <button
          type="button"
          class={`btn btn-sm ${globalEngaged() ? 'btn-global-release' : 'btn-global'}`}
          onClick={() => open('global')}
          aria-haspopup="dialog"
          title={
            globalEngaged() ? 'Release the global halt (platform admin)' : 'Halt every desk (platform admin)'
          }
        >
          {globalEngaged() ? 'Release global' : 'Global halt'}
        </button>
      </Show>
      <dialog class="dialog" ref={dialog} aria-labelledby="halt-dialog-title">
        <form onSubmit={submit}>
          <div class="dialog-head">
            <h2 id="halt-dialog-title">{title()}</h2>
          </div>
          <div class="dialog-body auth-form">
            <p class="dim" style={{ margin: 0 }}>
              {explanation()}
            </p>
            <ErrorAlert message={error()} />
            <Show when={mode() === 'engage'}>
              <InputField
                label="Reason"
                id="halt-reason"
                name="reason"
                required
                maxLength={500}
                autocomplete="off"
              />
            </Show>
            <PasswordField id="halt-password" />
            <div class="dialog-actions">
              <button type="button" class="btn btn-ghost" onClick={() => dialog?.close()}>
                Cancel
              </button>
              <button
                type="submit"
                class={`btn ${mode() === 'release' ? 'btn-primary' : 'btn-halt'}`}
                disabled={pending()}
              >
                {pending()
                  ? 'Working…'
                  : mode() === 'release'
                    ? scope() === 'global'
                      ? 'Release global halt'
                      : 'Release'
                    : scope() === 'global'
                      ? 'Halt all desks'
                      : 'Halt trading'}
              </button>
            </div>
          </div>
        </form>
      </dialog>
    </>
  );
}
