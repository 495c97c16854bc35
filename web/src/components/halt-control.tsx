import { createSignal, Show } from 'solid-js';
import { useSession } from '../lib/session.tsx';
import { useSubscription } from '../lib/subscription.ts';
import { errorCodeOf, errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';

type Halt = RouterOutputs['halt']['status'];
export type HaltView =
  | { kind: 'loading' }
  | { kind: 'known'; state: Halt }
  | { kind: 'unknown'; why: string };

/**
 * The kill switch, always in the top bar: its live state (halt.updates over SSE: the current
 * state first, then every change from any process) and, for those allowed, the control.
 * Traders engage it; desk admins release it. Both re-enter their password first (the server
 * requires a recent re-authentication for either).
 */
export function HaltControl() {
  const session = useSession();
  const [view, setView] = createSignal<HaltView>({ kind: 'loading' });
  let dialog: HTMLDialogElement | undefined;
  const [error, setError] = createSignal<string>();
  const [pending, setPending] = createSignal(false);

  useSubscription(() =>
    trpc.halt.updates.subscribe(undefined, {
      onData: (state) => setView({ kind: 'known', state }),
      onError: (e) => setView({ kind: 'unknown', why: errorMessageOf(e) }),
      // A dropped stream means the last state may be stale: say so until the link reconnects
      // (the server then sends the current state first).
      onConnectionStateChange: (c) => {
        if (c.state === 'connecting' && c.error) {
          setView({ kind: 'unknown', why: 'Connection to the server lost; reconnecting' });
        }
      },
    }),
  );

  const role = () => session.me()?.activeDesk?.role;
  const halted = () => {
    const v = view();
    return v.kind === 'known' && v.state.halted;
  };
  const deskEngaged = () => {
    const v = view();
    return v.kind === 'known' && v.state.desk.engaged;
  };
  const canEngage = () => role() === 'admin' || role() === 'trader';
  const canRelease = () => role() === 'admin' && deskEngaged();

  // What the open dialog does is fixed when it opens: the live state may change meanwhile
  // (another trader, another process), and the dialog must not switch action under the user.
  const [mode, setMode] = createSignal<'engage' | 'release'>('engage');
  const open = () => {
    setError(undefined);
    setMode(deskEngaged() ? 'release' : 'engage');
    dialog?.showModal();
  };

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    setPending(true);
    setError(undefined);
    try {
      await trpc.auth.reauthenticate.mutate({ password: String(form.get('password') ?? '') });
      if (mode() === 'release') {
        setView({ kind: 'known', state: await trpc.halt.release.mutate({ scope: 'desk' }) });
      } else {
        const result = await trpc.halt.engage.mutate({
          scope: 'desk',
          reason: String(form.get('reason') ?? ''),
        });
        setView({ kind: 'known', state: result.state });
      }
      formElement.reset();
      dialog?.close();
    } catch (e) {
      setError(errorCodeOf(e) === 'UNAUTHORIZED' ? 'Wrong password.' : errorMessageOf(e));
    } finally {
      setPending(false);
    }
  };

  const pill = (): { state: 'live' | 'halted' | 'unknown'; label: string; title: string } => {
    const v = view();
    if (v.kind === 'loading') return { state: 'unknown', label: 'Halt status…', title: 'Connecting' };
    if (v.kind === 'unknown') return { state: 'unknown', label: 'Halt status n/a', title: v.why };
    if (!v.state.halted) return { state: 'live', label: 'Trading live', title: 'Kill switch released' };
    const which = v.state.global.engaged ? v.state.global : v.state.desk;
    const scope = v.state.global.engaged ? 'Global halt' : 'Desk halted';
    return { state: 'halted', label: scope, title: which.reason ? `${scope}: ${which.reason}` : scope };
  };

  return (
    <>
      <output class="status-pill" data-state={pill().state} title={pill().title} aria-live="polite">
        <span class="status-dot" aria-hidden="true" />
        <span>{pill().label}</span>
      </output>
      <Show when={(canEngage() && !halted()) || canRelease()}>
        <button
          type="button"
          class={`btn btn-sm ${deskEngaged() ? '' : 'btn-halt'}`}
          onClick={open}
          aria-haspopup="dialog"
        >
          {deskEngaged() ? 'Release' : 'Halt'}
        </button>
      </Show>
      <dialog class="dialog" ref={dialog} aria-labelledby="halt-dialog-title">
        <form onSubmit={submit}>
          <div class="dialog-head">
            <h2 id="halt-dialog-title">
              {mode() === 'release' ? 'Release the kill switch' : 'Halt trading on this desk'}
            </h2>
          </div>
          <div class="dialog-body auth-form">
            <p class="dim" style={{ margin: 0 }}>
              {mode() === 'release'
                ? 'Trading resumes within risk limits. A global halt, if any, stays in force.'
                : 'New orders are refused and working orders are cancelled. Only risk-reducing orders pass.'}
            </p>
            <Show when={error()}>
              <div class="alert alert-error" role="alert">
                {error()}
              </div>
            </Show>
            <Show when={mode() === 'engage'}>
              <div class="field">
                <label for="halt-reason">Reason</label>
                <input id="halt-reason" name="reason" required maxLength={500} autocomplete="off" />
              </div>
            </Show>
            <div class="field">
              <label for="halt-password">Your password</label>
              <input
                id="halt-password"
                name="password"
                type="password"
                required
                autocomplete="current-password"
              />
            </div>
            <div class="dialog-actions">
              <button type="button" class="btn btn-ghost" onClick={() => dialog?.close()}>
                Cancel
              </button>
              <button
                type="submit"
                class={`btn ${mode() === 'release' ? 'btn-primary' : 'btn-halt'}`}
                disabled={pending()}
              >
                {pending() ? 'Working…' : mode() === 'release' ? 'Release' : 'Halt trading'}
              </button>
            </div>
          </div>
        </form>
      </dialog>
    </>
  );
}
