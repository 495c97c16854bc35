import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '../../server/src/routers/_app.ts';
import {
  type ServerProcess,
  spawnServerProcess,
} from '../../server/tests/integration/support/child-server.ts';
import { UPSTREAM_HEADER } from './round-robin-proxy.ts';

/**
 * Server replicas as separate OS processes (tests/support/cluster-server.ts), and clients that
 * reach them through a load balancer, optionally naming the replica they prefer.
 */
export interface Replica extends ServerProcess {
  readonly name: string;
}

export function spawnReplica(name: string, env: Record<string, string>): Replica {
  return {
    name,
    ...spawnServerProcess('tests/support/cluster-server.ts', { REPLICA: name, ...env }, `replica ${name}`),
  };
}

/** A browser-like cookie jar shared by a user's clients, whichever replica answers. */
export class Jar {
  readonly cookies = new Map<string, string>();
  store(headers: Headers): void {
    for (const c of headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (/max-age=0/i.test(c) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string | undefined {
    return this.cookies.size === 0 ? undefined : [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export interface ClusterClientOptions {
  /** Cookie session. */
  readonly jar?: Jar;
  /** API key. */
  readonly bearer?: string;
  /** The replica index the load balancer should prefer (null: round robin). */
  readonly prefer?: number | null;
  readonly origin?: string;
}

/** A tRPC client (queries and mutations over HTTP, subscriptions over SSE) for `url`. */
export function clusterClient(url: string, o: ClusterClientOptions = {}) {
  const headers = (): Record<string, string> => {
    const h: Record<string, string> = { origin: o.origin ?? 'http://localhost:3000' };
    const cookie = o.jar?.header();
    if (cookie) h.cookie = cookie;
    if (o.bearer) h.authorization = `Bearer ${o.bearer}`;
    if (o.prefer !== undefined && o.prefer !== null) h[UPSTREAM_HEADER] = String(o.prefer);
    return h;
  };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${url}/trpc`,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers() } }),
          },
        }),
        false: httpLink({
          url: `${url}/trpc`,
          headers,
          async fetch(input, init) {
            const res = await fetch(input, init);
            o.jar?.store(res.headers);
            return res;
          },
        }),
      }),
    ],
  });
}

export type ClusterClient = ReturnType<typeof clusterClient>;

/** Collects a subscription's events. */
export class Events<T> {
  readonly items: T[] = [];
  readonly errors: unknown[] = [];
  /** How many times the stream (re)started: tRPC's onStarted. */
  starts = 0;
  push = (item: T) => {
    this.items.push(item);
  };
  fail = (err: unknown) => {
    this.errors.push(err);
  };
  started = () => {
    this.starts++;
  };
  /** The callbacks for `subscribe(input, events.handlers())`. */
  handlers() {
    return { onData: this.push as (d: unknown) => void, onError: this.fail, onStarted: this.started };
  }
}

export { until } from '../../server/tests/integration/support/wait.ts';
