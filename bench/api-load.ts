/**
 * bench:api's load generator, on a thread of its own, at one fixed offered rate against one
 * request shape; the numbers are posted back. Two generators:
 *
 * - `paced` (the default): open loop. Request i is due at start + i/rate and is sent then (a
 *   1 ms timer issues whatever has come due), whatever the earlier ones are doing; its latency
 *   counts from when it was due, so a stall in the server shows as the latency of every request
 *   that waited behind it (no coordinated omission). This is a fixed rate as clients make it.
 * - `autocannon`: autocannon's `overallRate`. Its rate is a per-second quota per connection:
 *   each connection sends back to back until it has made its share of the second, then waits
 *   for the next second. The load is a burst of `connections` closed-loop clients at the start
 *   of every second, so its latencies are those of 20-64 requests in flight at once (about
 *   `connections` × the service time) rather than those of the offered rate.
 *
 * On the server's thread (as the benchmark first ran) every request's client side queued behind
 * the server's own work on one event loop; a client elsewhere, as in production, never shares it.
 * A request is plain data (it crosses to this thread by structured clone); `place` is the one
 * shape that varies per request (a fresh idempotency key, the desk keys in turn), built here.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';

/** A fixed request, or orders.place rotating over desk keys. */
export type LoadRequest =
  | {
      readonly kind: 'fixed';
      readonly method: 'GET' | 'POST';
      readonly path: string;
      readonly headers: Record<string, string>;
      readonly body?: string;
    }
  | { readonly kind: 'place'; readonly deskKeys: readonly string[] };

export type LoadTool = 'paced' | 'autocannon';

export interface LoadJob {
  readonly tool: LoadTool;
  readonly url: string;
  readonly request: LoadRequest;
  readonly rate: number;
  readonly seconds: number;
}

export interface LoadResult {
  readonly total: number;
  /** From the first request's start to the last answer (at least the step's duration). */
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** A resting limit buy far under the market (the order rests at the paper broker). */
export const benchOrder = (i: number) => ({
  symbol: 'BTC-USD',
  side: 'buy',
  orderType: 'limit',
  timeInForce: 'gtc',
  quantity: '0.001',
  limitPrice: String(20000 + (i % 1000)),
});

/** The autocannon request for `r`. */
function autocannonRequest(r: LoadRequest): autocannon.Request {
  if (r.kind === 'fixed') return requestFor(r, 0) as autocannon.Request;
  let n = 0;
  return {
    method: 'POST',
    path: '/trpc/orders.place',
    setupRequest(req) {
      const { headers, body } = requestFor(r, n++);
      return { ...req, headers, body };
    },
  };
}

/** The request's method, path, headers and body, the `n`th of its kind. */
export function requestFor(
  r: LoadRequest,
  n: number,
): { method: string; path: string; headers: Record<string, string>; body?: string } {
  if (r.kind === 'fixed')
    return { method: r.method, path: r.path, headers: r.headers, ...(r.body ? { body: r.body } : {}) };
  return {
    method: 'POST',
    path: '/trpc/orders.place',
    headers: {
      authorization: `Bearer ${r.deskKeys[n % r.deskKeys.length]!}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ idempotencyKey: randomUUID(), order: benchOrder(n) }),
  };
}

const TIMEOUT_MS = 10_000;

/** Open loop at `job.rate` for `job.seconds` (see the file comment). */
async function paced(job: LoadJob): Promise<LoadResult> {
  const target = new URL(job.url);
  // Enough sockets that the generator never holds a due request back while the server keeps up.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(job.rate * job.seconds);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let finished = 0;
  let issued = 0;
  let lastEnd = 0;
  const start = performance.now() + 5;
  await new Promise<void>((resolve) => {
    const settle = () => {
      if (++finished === total) resolve();
    };
    const send = (n: number, due: number) => {
      const r = requestFor(job.request, n);
      let over = false; // one outcome per request (an error after the answer is not a second)
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: r.method,
          path: r.path,
          headers: r.headers,
          timeout: TIMEOUT_MS,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (over) return;
            over = true;
            lastEnd = performance.now();
            latencies.push(lastEnd - due);
            const status = res.statusCode ?? 0;
            if (status < 200 || status > 299) non2xx++;
            settle();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        if (over) return;
        over = true;
        errors++;
        settle();
      });
      req.end(r.body);
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * job.rate) / 1000) + 1);
      while (issued < due) {
        const n = issued++;
        send(n, start + (n * 1000) / job.rate);
      }
      if (issued < total) setTimeout(tick, 1);
    };
    setTimeout(tick, 5);
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  const seconds = Math.max(job.seconds, (lastEnd - start) / 1000);
  return {
    total: latencies.length,
    seconds,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.at(-1) ?? 0,
    errors,
    non2xx,
  };
}

async function runJob(job: LoadJob): Promise<LoadResult> {
  return job.tool === 'paced' ? paced(job) : withAutocannon(job);
}

async function withAutocannon(job: LoadJob): Promise<LoadResult> {
  // Connections scale with the rate so the offered rate is reachable.
  const connections = Math.max(4, Math.min(64, Math.ceil(job.rate / 50)));
  const opts: autocannon.Options = {
    url: job.url,
    connections,
    overallRate: job.rate,
    duration: job.seconds,
    requests: [autocannonRequest(job.request)],
    timeout: 10,
  };
  const raw = await autocannon(opts);
  // Off the main thread autocannon hands back its histograms unaggregated (it expects to be one
  // of its own workers); its public aggregateResult makes the usual result of them.
  // (Its types do not declare aggregateResult, documented in its README.)
  const aggregate = (
    autocannon as unknown as { aggregateResult(rs: unknown[], o: unknown): autocannon.Result }
  ).aggregateResult;
  const result = isMainThread ? raw : aggregate([raw], opts);
  return {
    total: result.requests.total,
    seconds: job.seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

if (parentPort && (workerData as { benchApiLoad?: boolean } | null)?.benchApiLoad) {
  const port = parentPort;
  port.on('message', (job: LoadJob) => {
    runJob(job).then(
      (r) => port.postMessage({ ok: true, result: r }),
      (err: unknown) =>
        port.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

export { runJob };
