import {
  type StreamingClientOptions,
  streamingClient,
} from '../../server/tests/integration/decisions-support.ts';
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
export { CookieJar as Jar } from '../../server/tests/integration/test-server.ts';

export interface ClusterClientOptions extends Omit<StreamingClientOptions, 'keepCookies' | 'headers'> {
  /** The replica index the load balancer should prefer (null: round robin). */
  readonly prefer?: number | null;
}

/** A tRPC client (queries and mutations over HTTP, subscriptions over SSE) for `url`, keeping its cookies. */
export function clusterClient(url: string, o: ClusterClientOptions = {}) {
  const prefer: Record<string, string> =
    o.prefer === undefined || o.prefer === null ? {} : { [UPSTREAM_HEADER]: String(o.prefer) };
  return streamingClient(url, { ...o, keepCookies: true, headers: prefer });
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
