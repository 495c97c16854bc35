import { Title } from '@solidjs/meta';
import { useNavigate } from '@solidjs/router';
import { createSignal, onMount, Show } from 'solid-js';
import { AuthCard } from '../components/auth-card.tsx';
import { ErrorAlert } from '../components/error-alert.tsx';
import { InputField } from '../components/input-field.tsx';
import { errorCodeOf, errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';

const MIN_LENGTH = 12;
const MAX_LENGTH = 256;

type Changed = RouterOutputs['auth']['changePassword'];

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * Change the password: required after a one-time password (the server marks the account), or
 * by choice from the user menu. On success the server ends every other session of the user and
 * revokes every API key of the user on every desk (whoever knew the old password may hold one);
 * when it ended or revoked anything, this page says what before continuing.
 */
export default function ChangePassword() {
  const navigate = useNavigate();
  const [error, setError] = createSignal<string>();
  const [pending, setPending] = createSignal(false);
  const [required, setRequired] = createSignal(false);
  const [changed, setChanged] = createSignal<Changed>();

  onMount(async () => {
    try {
      const me = await trpc.auth.me.query();
      setRequired(me.user.mustChangePassword);
    } catch (e) {
      if (errorCodeOf(e) === 'UNAUTHORIZED') navigate('/login?next=%2Fchange-password', { replace: true });
    }
  });

  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const currentPassword = String(form.get('currentPassword') ?? '');
    const newPassword = String(form.get('newPassword') ?? '');
    if (newPassword !== String(form.get('confirmPassword') ?? '')) {
      setError('The new passwords do not match.');
      return;
    }
    if (newPassword.length < MIN_LENGTH) {
      setError(`Use at least ${MIN_LENGTH} characters.`);
      return;
    }
    setPending(true);
    setError(undefined);
    try {
      const result = await trpc.auth.changePassword.mutate({ currentPassword, newPassword });
      if (result.otherSessionsEnded === 0 && result.apiKeysRevoked === 0) navigate('/', { replace: true });
      else setChanged(result);
    } catch (e) {
      setError(errorMessageOf(e));
      setPending(false);
    }
  };

  return (
    <AuthCard
      title={required() ? 'Choose a new password' : 'Change password'}
      lede={
        required()
          ? 'Your account was created with a one-time password. Choose your own to continue.'
          : 'Other sessions of your account will be signed out and your API keys revoked.'
      }
    >
      <Title>Change password · Aegis</Title>
      <Show when={changed()}>
        {(c) => (
          <div class="auth-form">
            <div class="alert alert-info" role="status">
              <p>Your password was changed.</p>
              <Show when={c().otherSessionsEnded > 0}>
                <p>
                  {plural(c().otherSessionsEnded, 'other session was', 'other sessions were')} signed out.
                </p>
              </Show>
              <Show when={c().apiKeysRevoked > 0}>
                <p>
                  {plural(c().apiKeysRevoked, 'API key was', 'API keys were')} revoked. Scripts using them
                  stop working now; create new keys under Settings → API keys.
                </p>
              </Show>
            </div>
            <a href="/" class="btn btn-primary btn-block">
              Continue
            </a>
          </div>
        )}
      </Show>
      <Show when={!changed()}>
        <form class="auth-form" method="post" onSubmit={onSubmit}>
          <ErrorAlert message={error()} />
          <InputField
            label={required() ? 'One-time password' : 'Current password'}
            id="currentPassword"
            name="currentPassword"
            type="password"
            autocomplete="current-password"
            required
            maxLength={MAX_LENGTH}
          />
          <div class="field">
            <label for="newPassword">New password</label>
            <input
              id="newPassword"
              name="newPassword"
              type="password"
              autocomplete="new-password"
              required
              minLength={MIN_LENGTH}
              maxLength={MAX_LENGTH}
              aria-describedby="newPassword-hint"
            />
            <span class="field-hint" id="newPassword-hint">
              At least {MIN_LENGTH} characters. A long passphrase is best; common passwords are refused.
            </span>
          </div>
          <InputField
            label="Repeat new password"
            id="confirmPassword"
            name="confirmPassword"
            type="password"
            autocomplete="new-password"
            required
            maxLength={MAX_LENGTH}
          />
          <button type="submit" class="btn btn-primary btn-block" disabled={pending()}>
            {pending() ? 'Saving…' : 'Save password'}
          </button>
          <Show when={!required()}>
            <a href="/" class="btn btn-ghost btn-block">
              Cancel
            </a>
          </Show>
        </form>
      </Show>
    </AuthCard>
  );
}
