import { useLocation, useNavigate } from '@solidjs/router';
import { type Accessor, createContext, createEffect, type JSX, useContext } from 'solid-js';
import { createQuery, type QueryState } from './query.ts';
import { errorMessageOf, type RouterOutputs, trpc } from './trpc.ts';

/**
 * The signed-in user, their desks and the active desk, as the server reports them
 * (`auth.me`). The console layout provides it; a missing or expired session sends the user to
 * /login, and a password the server marked for change sends them to /change-password.
 */
export type Me = RouterOutputs['auth']['me'];

interface SessionContextValue {
  readonly state: Accessor<QueryState<Me>>;
  readonly me: Accessor<Me | undefined>;
  readonly refresh: () => Promise<void>;
  readonly switchDesk: (deskId: string) => Promise<void>;
  readonly logout: () => Promise<void>;
}

const SessionContext = createContext<SessionContextValue>();

export function SessionProvider(props: { children: JSX.Element }) {
  const navigate = useNavigate();
  const location = useLocation();
  const query = createQuery(() => trpc.auth.me.query(), { redirectOnUnauthorized: false });
  const me = () => {
    const s = query.state();
    return s.status === 'ready' ? s.data : undefined;
  };

  createEffect(() => {
    const s = query.state();
    if (s.status === 'error' && s.code === 'UNAUTHORIZED') {
      const next = location.pathname + location.search;
      navigate(next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`, { replace: true });
    } else if (s.status === 'ready' && s.data.user.mustChangePassword) {
      navigate('/change-password', { replace: true });
    }
  });

  const value: SessionContextValue = {
    state: query.state,
    me,
    refresh: query.refetch,
    async switchDesk(deskId) {
      await trpc.auth.switchDesk.mutate({ deskId });
      // Every panel reads desk-scoped data: reload the page's data under the new desk.
      window.location.reload();
    },
    async logout() {
      try {
        await trpc.auth.logout.mutate();
      } catch (error) {
        // The cookie is cleared by the server; if it could not be reached, still leave the console.
        void errorMessageOf(error);
      }
      window.location.assign('/login?signedOut=1');
    },
  };

  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
