import type { AppRouter } from '@aegis/server/router';
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { EventSource } from 'eventsource';

/**
 * The typed API client for scripts: `createAegisClient({ url, apiKey })` returns a tRPC client
 * typed by the server's `AppRouter` (a type-only import: nothing of the server is bundled or run).
 * Queries and mutations go over batched HTTP, subscriptions over SSE (Node has no global
 * EventSource before 22 and none that sends headers: the `eventsource` package does, through its
 * `fetch` option). Every request carries `Authorization: Bearer <key>`.
 *
 *   const aegis = createAegisClient(loadCliConfig());
 *   const me = await aegis.auth.me.query();
 */
export type AegisClient = TRPCClient<AppRouter>;

export interface AegisClientOptions {
  /** Server base URL (tRPC is at `${url}/trpc`). */
  readonly url: string;
  readonly apiKey?: string | undefined;
  /** Per-request timeout for queries and mutations. */
  readonly timeoutMs?: number;
  /** Extra headers on every request (e.g. a request id for tracing). */
  readonly headers?: Readonly<Record<string, string>>;
}

export function createAegisClient(options: AegisClientOptions): AegisClient {
  return createTRPCClient<AppRouter>({ links: createAegisLinks<AppRouter>(options) });
}

/** The links behind `createAegisClient`, for any router (tests exercise them on a small one). */
export function createAegisLinks<TRouter extends AnyRouter>(
  options: AegisClientOptions,
): TRPCLink<TRouter>[] {
  const endpoint = `${options.url.replace(/\/+$/, '')}/trpc`;
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const timeoutMs = options.timeoutMs ?? 30_000;

  const timedFetch: typeof fetch = (input, init) =>
    fetch(input, {
      ...init,
      signal: init?.signal
        ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)])
        : AbortSignal.timeout(timeoutMs),
    });

  // The server sends plain JSON (no transformer); typed against AppRouter, reused for others.
  const links: TRPCLink<AppRouter>[] = [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({
        url: endpoint,
        EventSource,
        // No timeout here: a subscription is meant to stay open.
        eventSourceOptions: {
          fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
        },
      }),
      // Mutations travel one per request: each gets its own HTTP status (a 503 with Retry-After
      // is retried by the caller with the same idempotency key) and password procedures are
      // never batched (the server refuses a batch that contains one). Queries stay batched.
      false: splitLink({
        condition: (op) => op.type === 'mutation',
        true: httpLink({ url: endpoint, headers: () => headers, fetch: timedFetch }),
        false: httpBatchLink({
          url: endpoint,
          headers: () => headers,
          fetch: timedFetch,
          maxURLLength: 4_000,
        }),
      }),
    }),
  ];
  return links as unknown as TRPCLink<TRouter>[];
}
