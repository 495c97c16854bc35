import type { AppRouter } from '@aegis/server/router';

import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from '@trpc/client';

export type { RouterInputs, RouterOutputs } from '@aegis/server/router';

/**
 * The console's only API client. Every call goes to `/trpc` on the console's own origin; the
 * web server forwards it to the Aegis server (routes/trpc/[...path].ts), so the HttpOnly session
 * cookie is sent and set same-origin and the server's CSRF check sees our Origin.
 *
 * Queries are batched over HTTP, mutations sent one per request; subscriptions are Server-Sent Events
 * (tRPC 11 async-generator subscriptions) through the same proxy.
 *
 * Browser-only: the console fetches its data after hydration (the server renders the layout and
 * loading states), so nothing here runs during SSR.
 */
const url = '/trpc';
// Same-origin already sends cookies; 'include' keeps them if the console is ever served from a
// sibling origin behind the same proxy.
const withCredentials: typeof fetch = (input, init) => fetch(input, { ...init, credentials: 'include' });

export const trpc = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({
        url,
        eventSourceOptions: { withCredentials: true },
      }),
      // Mutations travel one per request (their own HTTP status, and the password procedures
      // are never batched: the server refuses a batch containing one); queries stay batched.
      false: splitLink({
        condition: (op) => op.type === 'mutation',
        true: httpLink({ url, fetch: withCredentials }),
        false: httpBatchLink({ url, fetch: withCredentials }),
      }),
    }),
  ],
});

export function isTRPCClientError(error: unknown): error is TRPCClientError<AppRouter> {
  return error instanceof TRPCClientError;
}

/** The tRPC error code of a failed call (`UNAUTHORIZED`, `TOO_MANY_REQUESTS` …), if any. */
export function errorCodeOf(error: unknown): string | undefined {
  return isTRPCClientError(error) ? error.data?.code : undefined;
}

/** A message fit for a trader: the server's own wording, or a plain network failure. */
export function errorMessageOf(error: unknown): string {
  if (isTRPCClientError(error)) {
    if (!error.data && /fetch|network/i.test(error.message))
      return 'Network error: the console cannot reach the server.';
    return error.message;
  }
  return error instanceof Error ? error.message : 'Unexpected error.';
}
