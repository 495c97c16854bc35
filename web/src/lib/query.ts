import { type Accessor, createSignal, onCleanup, onMount } from 'solid-js';
import { errorCodeOf, errorMessageOf } from './trpc.ts';

/**
 * A browser-only data loader with explicit states, for panels. Why not `createResource`: the
 * server renders the console's layout without the user's data (it has no session to ask with),
 * so panels must render the same "loading" markup on the server and during hydration and only
 * then fetch. A resource would try to fetch during SSR and suspend during hydration.
 */
export type QueryState<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly data: T; readonly updatedAt: Date }
  | { readonly status: 'error'; readonly message: string; readonly code: string | undefined };

export interface Query<T> {
  readonly state: Accessor<QueryState<T>>;
  readonly refetch: () => Promise<void>;
}

export interface QueryOptions {
  /** Refetch every so many milliseconds while the tab is visible (last good data is kept). */
  pollMs?: number;
  /**
   * On UNAUTHORIZED (session expired or revoked elsewhere), go to /login and come back here
   * after signing in. Default true; the session loader handles it itself.
   */
  redirectOnUnauthorized?: boolean;
}

export function createQuery<T>(fetcher: () => Promise<T>, options: QueryOptions = {}): Query<T> {
  const [state, setState] = createSignal<QueryState<T>>({ status: 'loading' });
  let generation = 0;

  const refetch = async (): Promise<void> => {
    const mine = ++generation;
    try {
      const data = await fetcher();
      if (mine === generation) setState({ status: 'ready', data, updatedAt: new Date() });
    } catch (error) {
      if ((options.redirectOnUnauthorized ?? true) && errorCodeOf(error) === 'UNAUTHORIZED') {
        const next = window.location.pathname + window.location.search;
        window.location.assign(`/login?next=${encodeURIComponent(next)}`);
        return;
      }
      // Keep showing the last good data on a failed poll; show the error only when we have none.
      if (mine === generation && state().status !== 'ready') {
        setState({ status: 'error', message: errorMessageOf(error), code: errorCodeOf(error) });
      }
    }
  };

  onMount(() => {
    void refetch();
    if (options.pollMs) {
      const timer = setInterval(() => {
        if (document.visibilityState === 'visible') void refetch();
      }, options.pollMs);
      onCleanup(() => clearInterval(timer));
    }
  });
  onCleanup(() => {
    generation++;
  });

  return { state, refetch };
}

/** The error of a failed query, or undefined. */
export function failureOf<T>(
  state: QueryState<T>,
): { message: string; code: string | undefined } | undefined {
  return state.status === 'error' ? { message: state.message, code: state.code } : undefined;
}
