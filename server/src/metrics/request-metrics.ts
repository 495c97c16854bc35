import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Request counters and latency histograms per tRPC procedure, recorded at the HTTP layer
 * (http.ts): one observation per procedure named in the request path (`/trpc/a.b,c.d` is a batch
 * of two), with the whole request's duration and status. Only procedures the router defines get
 * their own series; any other path counts as `unknown`, so a client cannot create series (or put
 * its own text into the exposition) by inventing paths.
 */

/** Upper bounds in seconds: 0.5 ms to 10 s, dense where the API's reads live (1–50 ms). */
export const REQUEST_DURATION_BUCKETS_S: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

export interface ProcedureStats {
  /** Requests per HTTP status class ('2xx', '4xx', …). */
  readonly byStatus: Map<string, number>;
  /** Non-cumulative counts per bucket; the last is +Inf. */
  readonly counts: number[];
  sum: number;
}

export const UNKNOWN_PROCEDURE = 'unknown';

export class RequestMetrics {
  readonly #known: ReadonlySet<string>;
  readonly #procedures = new Map<string, ProcedureStats>();
  readonly #loopDelay: ReturnType<typeof monitorEventLoopDelay>;

  constructor(knownProcedures: Iterable<string>) {
    this.#known = new Set(knownProcedures);
    this.#loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.#loopDelay.enable();
  }

  /** One request to `/trpc/<paths>` finished with `status` after `seconds`. */
  observe(paths: string, status: number, seconds: number): void {
    const statusClass = `${Math.floor(status / 100)}xx`;
    for (const raw of paths.split(',')) {
      const name = this.#known.has(raw) ? raw : UNKNOWN_PROCEDURE;
      let s = this.#procedures.get(name);
      if (!s) {
        s = { byStatus: new Map(), counts: new Array(REQUEST_DURATION_BUCKETS_S.length + 1).fill(0), sum: 0 };
        this.#procedures.set(name, s);
      }
      s.byStatus.set(statusClass, (s.byStatus.get(statusClass) ?? 0) + 1);
      let i = 0;
      while (i < REQUEST_DURATION_BUCKETS_S.length && seconds > (REQUEST_DURATION_BUCKETS_S[i] as number))
        i++;
      s.counts[i] = (s.counts[i] ?? 0) + 1;
      s.sum += seconds;
    }
  }

  procedures(): ReadonlyMap<string, ProcedureStats> {
    return this.#procedures;
  }

  /** Event-loop delay since the last call (then reset): the lag every request also waited. */
  takeEventLoopDelay(): { p50: number; p99: number; max: number; mean: number } {
    const h = this.#loopDelay;
    const ns = (v: number) => (Number.isFinite(v) ? v / 1e9 : 0);
    const out = { p50: ns(h.percentile(50)), p99: ns(h.percentile(99)), max: ns(h.max), mean: ns(h.mean) };
    h.reset();
    return out;
  }

  close(): void {
    this.#loopDelay.disable();
  }
}
