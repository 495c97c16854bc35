import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '../../server/src/routers/_app.ts';
import { UPSTREAM_HEADER } from './round-robin-proxy.ts';

/**
 * Server replicas as separate OS processes (tests/support/cluster-server.ts), and clients that
 * reach them through a load balancer, optionally naming the replica they prefer.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const ENTRY = `${ROOT}tests/support/cluster-server.ts`;

export interface Replica {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly url: Promise<string>;
  readonly exited: Promise<void>;
  /** The first lines it wrote (stdout and stderr), for a failure's message. */
  readonly output: string[];
  readonly alive: () => boolean;
}

export function spawnReplica(name: string, env: Record<string, string>): Replica {
  const proc = spawn(NODE, [ENTRY], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', REPLICA: name, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let resolveUrl!: (u: string) => void;
  let rejectUrl!: (e: Error) => void;
  const url = new Promise<string>((res, rej) => {
    resolveUrl = res;
    rejectUrl = rej;
  });
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (output.length < 200) output.push(line.slice(0, 1000));
      try {
        const j = JSON.parse(line) as { ready?: boolean; url?: string };
        if (j.ready && j.url) resolveUrl(j.url);
      } catch {
        // a log line
      }
    }
  });
  proc.stderr?.on('data', (d: Buffer) => {
    if (output.length < 200) output.push(d.toString().slice(0, 1000));
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  void exited.then(() =>
    rejectUrl(new Error(`replica ${name} exited before it was ready: ${output.join('\n')}`)),
  );
  return {
    name,
    proc,
    url,
    exited,
    output,
    alive: () => proc.exitCode === null && proc.signalCode === null,
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy; a cap so a bug fails instead of hanging. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(50);
  }
}
