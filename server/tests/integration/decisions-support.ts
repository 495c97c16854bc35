import type { Bus } from '@aegis/shared/bus/types';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '../../src/routers/_app.ts';
import { type CookieJar, ORIGIN } from './test-server.ts';

export interface StreamingClientOptions {
  /** Cookie session. */
  readonly jar?: CookieJar;
  /** Keep the cookies responses set in `jar`, as a browser does. Default: send only. */
  readonly keepCookies?: boolean;
  /** API key. */
  readonly bearer?: string;
  /** Default: the allowed console origin. */
  readonly origin?: string;
  /** More headers on every request and stream. */
  readonly headers?: Record<string, string>;
}

/** A client that also speaks SSE subscriptions (cookie session or bearer key). */
export function streamingClient(url: string, auth: StreamingClientOptions) {
  const headers = (): Record<string, string> => {
    const h: Record<string, string> = { origin: auth.origin ?? ORIGIN, ...auth.headers };
    const cookie = auth.jar?.header();
    if (cookie) h.cookie = cookie;
    if (auth.bearer) h.authorization = `Bearer ${auth.bearer}`;
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
            if (auth.keepCookies) auth.jar?.store(res.headers);
            return res;
          },
        }),
      }),
    ],
  });
}

/** Collects a subscription's events; `next(n)` waits until n have arrived. */
export class Collector<T> {
  readonly items: T[] = [];
  readonly errors: unknown[] = [];
  #waiters: (() => void)[] = [];
  push = (item: T) => {
    this.items.push(item);
    for (const w of this.#waiters.splice(0)) w();
  };
  fail = (err: unknown) => {
    this.errors.push(err);
    for (const w of this.#waiters.splice(0)) w();
  };
  async waitFor(n: number, timeoutMs = 10_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.length < n) {
      if (this.errors.length > 0) throw this.errors[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} events (have ${this.items.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.items;
  }
}

/** Polls until `fn` returns a value other than undefined/null/false. */
export async function eventually<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

let counter = 0;

/** A signal entry exactly as the engine's publisher writes it. */
export function engineSignal(over: Partial<Record<string, string>> = {}, tsSignal = new Date()) {
  counter++;
  const ms = tsSignal.getTime();
  const hex = ms.toString(16).padStart(12, '0');
  const rand = `${process.pid.toString(16).padStart(4, '0')}${counter.toString(16).padStart(8, '0')}`.slice(
    -12,
  );
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-${rand.padStart(12, '0')}`;
  return {
    id,
    symbol: 'BTC-USD',
    direction: 'long',
    pattern: 'breakout',
    score: '0.83',
    price: '50010.5',
    tsEvent: new Date(ms - 2).toISOString().replace('Z', '417Z'),
    tsSignal: tsSignal.toISOString().replace('Z', '250Z'),
    features: JSON.stringify({
      // The engine's FEATURE_NAMES (engine/src/ring/layout.ts); null = still warming up.
      emaFast: 50005.1,
      emaSlow: 49990.2,
      vwap: 50001.7,
      realizedVol: 0.0021,
      orderFlowImbalance: 0.42,
      microPrice: 50008.9,
      spreadZ: null,
      momentum: 0.0009,
    }),
    modelVersion: 'test-model-1',
    ...over,
  };
}

export async function injectSignal(
  bus: Bus,
  stream: string,
  fields: Record<string, string>,
): Promise<string> {
  return bus.xadd(stream, fields);
}
