import { Title } from '@solidjs/meta';
import { useNavigate, useSearchParams } from '@solidjs/router';
import { createSignal, onMount, Show } from 'solid-js';
import { AuthCard } from '../components/auth-card.tsx';
import { ErrorAlert } from '../components/error-alert.tsx';
import { InputField } from '../components/input-field.tsx';
import { errorCodeOf, errorMessageOf, trpc } from '../lib/trpc.ts';

/** Only same-site paths are followed after sign-in (no open redirect through `?next=`). */
function safeNext(next: string | string[] | undefined): string {
  const value = Array.isArray(next) ? next[0] : next;
  return value?.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') ? value : '/';
}

export default function Login() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [error, setError] = createSignal<string>();
  const [pending, setPending] = createSignal(false);

  // Already signed in (a bookmark to /login, the back button): continue to the console.
  onMount(async () => {
    if (params.signedOut) return;
    try {
      const me = await trpc.auth.me.query();
      navigate(me.user.mustChangePassword ? '/change-password' : safeNext(params.next), { replace: true });
    } catch {
      // Not signed in: stay here.
    }
  });

  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setPending(true);
    setError(undefined);
    try {
      const result = await trpc.auth.login.mutate({
        email: String(form.get('email') ?? ''),
        password: String(form.get('password') ?? ''),
      });
      navigate(result.user.mustChangePassword ? '/change-password' : safeNext(params.next), {
        replace: true,
      });
    } catch (e) {
      setError(
        errorCodeOf(e) === 'BAD_REQUEST' ? 'Enter your email address and password.' : errorMessageOf(e),
      );
      setPending(false);
    }
  };

  return (
    <AuthCard title="Sign in" lede="Aegis trading console">
      <Title>Sign in · Aegis</Title>
      <form
        class="auth-form"
        method="post"
        onSubmit={onSubmit}
        aria-describedby={error() ? 'login-error' : undefined}
      >
        <Show when={params.signedOut && !error()}>
          <div class="alert alert-info" role="status">
            You have been signed out.
          </div>
        </Show>
        <ErrorAlert message={error()} id="login-error" />
        <InputField
          label="Email"
          id="email"
          name="email"
          type="email"
          autocomplete="username"
          required
          maxLength={254}
          autofocus
          aria-invalid={error() ? 'true' : undefined}
        />
        <InputField
          label="Password"
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxLength={256}
          aria-invalid={error() ? 'true' : undefined}
        />
        <button type="submit" class="btn btn-primary btn-block" disabled={pending()}>
          {pending() ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </AuthCard>
  );
}
