import { randomFillSync } from 'node:crypto';
import type { Bus } from '@aegis/shared/bus/types';
import { isDeadlineExceeded, withDeadline } from '@aegis/shared/deadline';
import type { Logger } from '@aegis/shared/logging';
import { isoFromMicros } from '@aegis/shared/market/micro-time';
import type { Sql } from 'postgres';
import { OwnedConnection } from '../db/owned-connection.ts';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import { CTRL, FEATURE_NAMES, PATTERN_NAMES, SCORED, usFromWords } from '../ring/layout.ts';
import type { RingBuffer } from '../ring/ring-buffer.ts';
import { SpinBudget } from '../ring/spin-wait.ts';

/**
 * The scored ring's consumer on the main thread: a SCORED record with score ≥ the threshold
 * becomes a signal, inserted into the `signals` table (the system of record) and then appended
 * to the bus stream `<prefix>signals` (MAXLEN ~). The ring cursor moves only after both
 * succeed; a retry re-sends the same ids (the insert skips ids already there), so a database or
 * bus outage delays signals and loses none (backpressure reaches the inference thread).
 *
 * The insert is bounded by `dbTimeoutMs`: a stalled server (sockets open, nothing answers) or a
 * connection left half-open by a restart would otherwise hold the publisher — and with it every
 * signal — forever. On the deadline the publisher drops its connection and retries on a fresh
 * one from `connect` (its own, never a pool another part of the engine uses).
 *
 * Stream entry fields (the server reads them with shared/src/schemas/signal.ts): id, symbol,
 * direction (long|short), pattern (breakout|mean_reversion|absorption), score, price, tsEvent
 * (ISO), tsSignal (ISO), features (JSON object in FEATURE_NAMES order), modelVersion, halted
 * ('true' while the global halt is engaged: the signal is market data for the record, and
 * no agent may act on it).
 */
export interface SignalPublisherOptions {
  readonly scoredRing: RingBuffer;
  readonly consumer: number;
  readonly symbolTable: SymbolTable;
  readonly bus: Bus;
  readonly stream: string;
  readonly maxLen: number;
  readonly minScore: number;
  readonly modelVersion: string;
  /**
   * Opens the publisher's own connection (one connection is enough: one insert at a time). It is
   * opened at start, replaced after a deadline and ended at stop. Without it, signals are not stored.
   */
  readonly connect?: (() => Sql) | undefined;
  /**
   * Or a client that belongs to the caller (never ended or replaced here): the insert is still
   * bounded, and the retry takes whatever connection that client hands out.
   */
  readonly sql?: Sql | undefined;
  /** Deadline for one insert, ms (default 5000). */
  readonly dbTimeoutMs?: number;
  readonly log: Logger;
  /** Records handled per round trip (default 512). */
  readonly batch?: number;
  /** The global halt, read once per delivered batch (default: never halted). */
  readonly halted?: () => boolean;
  /** Called for each signal published (tests, benchmark); keep it cheap. */
  readonly onSignal?: (s: SignalOut) => void;
  /**
   * Spin before each park, µs (default 0): sized from the measured wake-up cost
   * (ring/spin-wait.ts). The publisher runs on the main thread, so it parks with
   * Atomics.waitAsync and its event loop keeps running.
   */
  readonly spinUs?: number;
}

/** Longest park on an empty scored ring: stop() wakes it, so this is not a polling period. */
const IDLE_WAIT_MS = 1000;
/** Longest wait between two delivery attempts: a database back from an outage is tried within 1 s. */
const MAX_BACKOFF_MS = 1000;

export interface SignalOut {
  readonly id: string;
  readonly symbol: string;
  readonly direction: 'long' | 'short';
  readonly pattern: 'breakout' | 'mean_reversion' | 'absorption';
  readonly score: number;
  readonly price: number;
  readonly tsEventUs: number;
  readonly tsSignalUs: number;
  readonly features: Record<string, number>;
}

/** Upper bounds (µs) of the tick-to-signal latency histogram (event time → published). */
export const SIGNAL_LATENCY_BUCKETS_US = [
  100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000, 1_000_000,
] as const;

export class SignalPublisher {
  readonly #o: SignalPublisherOptions;
  #stopping = false;
  #running: Promise<void> | null = null;
  readonly #db: OwnedConnection;
  scored = 0;
  belowThreshold = 0;
  signalsOut = 0;
  persistErrors = 0;
  /** Inserts that hit the deadline (each one replaced the connection). */
  persistTimeouts = 0;
  publishErrors = 0;
  /** Signals published marked halted=true. */
  signalsHalted = 0;
  readonly latencyCounts = new Array<number>(SIGNAL_LATENCY_BUCKETS_US.length + 1).fill(0);
  latencySumUs = 0;

  constructor(options: SignalPublisherOptions) {
    this.#o = options;
    this.#db = new OwnedConnection(options);
  }

  start(): void {
    this.#db.open();
    this.#running ??= this.#loop();
  }

  /** Publishes everything already in the scored ring, then stops and ends its connection. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#o.scoredRing.wakeAll();
    await this.#running;
    await this.#db.end();
  }

  backlog(): number {
    return this.#o.scoredRing.readable(this.#o.consumer);
  }

  async #loop(): Promise<void> {
    const { scoredRing: ring, consumer } = this.#o;
    const batch = this.#o.batch ?? 512;
    let pending: SignalOut[] | null = null;
    let pendingEnd = 0;
    let backoff = 0;
    const spin = new SpinBudget(this.#o.spinUs ?? 0);
    const ctrl = ring.ctrl;
    for (;;) {
      if (!pending) {
        let n = ring.readable(consumer);
        if (n === 0 && !this.#stopping) {
          // A bounded spin on HEAD, then Atomics.waitAsync (the event loop keeps running).
          spin.spinUntilChanged(ctrl, CTRL.HEAD, ring.cursor(consumer) | 0);
          n = ring.readable(consumer);
        }
        if (n === 0) n = await ring.waitForDataAsync(consumer, this.#stopping ? 0 : IDLE_WAIT_MS);
        if (n === 0) {
          if (this.#stopping) return;
          continue;
        }
        const from = ring.cursor(consumer);
        const take = Math.min(n, batch);
        pending = this.#decode(from, take);
        pendingEnd = (from + take) >>> 0;
      }
      const signals: SignalOut[] = pending;
      try {
        if (signals.length > 0) await this.#deliver(signals);
        ring.commit(consumer, pendingEnd);
        this.signalsOut += signals.length;
        pending = null;
        backoff = 0;
      } catch (err) {
        backoff = Math.min(MAX_BACKOFF_MS, backoff === 0 ? 100 : backoff * 2);
        this.#o.log.error(
          { err: (err as Error).message, retryInMs: backoff },
          'signals: delivery failed; retrying',
        );
        if (this.#stopping && backoff >= MAX_BACKOFF_MS) {
          this.#o.log.error(
            { lost: signals.length + ring.readable(consumer) },
            'signals: giving up at shutdown',
          );
          return;
        }
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  #decode(from: number, n: number): SignalOut[] {
    const { scoredRing: r, symbolTable, minScore } = this.#o;
    const out: SignalOut[] = [];
    const nowUs = Date.now() * 1000;
    for (let k = 0; k < n; k++) {
      const seq = (from + k) >>> 0;
      const b32 = r.base32(seq);
      const b64 = r.base64(seq);
      const b8 = r.base8(seq);
      const score = r.f32[b32 + SCORED.f32.score] as number;
      this.scored++;
      if (!(score >= minScore)) {
        this.belowThreshold++;
        continue;
      }
      const u32 = r.u32;
      const tsEventUs = usFromWords(
        u32[b32 + SCORED.u32.tsEventHi] as number,
        u32[b32 + SCORED.u32.tsEventLo] as number,
      );
      const tsSignalUs = usFromWords(
        u32[b32 + SCORED.u32.tsSignalHi] as number,
        u32[b32 + SCORED.u32.tsSignalLo] as number,
      );
      const features: Record<string, number> = {};
      for (let f = 0; f < FEATURE_NAMES.length; f++) {
        features[FEATURE_NAMES[f] as string] = r.f64[b64 + SCORED.f64.features + f] as number;
      }
      const latency = nowUs - tsEventUs;
      if (latency >= 0) {
        let i = 0;
        while (i < SIGNAL_LATENCY_BUCKETS_US.length && latency > (SIGNAL_LATENCY_BUCKETS_US[i] as number))
          i++;
        this.latencyCounts[i]! += 1;
        this.latencySumUs += latency;
      }
      out.push({
        id: uuidv7(Math.floor(tsSignalUs / 1000)),
        symbol: symbolTable.symbolOf(u32[b32 + SCORED.u32.symbolId] as number),
        direction: (r.i8[b8 + SCORED.i8.direction] as number) > 0 ? 'long' : 'short',
        pattern: PATTERN_NAMES[r.u8[b8 + SCORED.u8.pattern] as number] ?? 'breakout',
        score,
        price: r.f64[b64 + SCORED.f64.price] as number,
        tsEventUs,
        tsSignalUs,
        features,
      });
    }
    return out;
  }

  async #deliver(signals: SignalOut[]): Promise<void> {
    const { bus, stream, maxLen, modelVersion, onSignal } = this.#o;
    const sql = this.#db.current;
    const halted = this.#o.halted?.() ?? false;
    // Serialised once for both the row and the stream entry.
    const featuresJson = signals.map((s) => JSON.stringify(sanitizeFeatures(s.features)));
    if (sql) {
      try {
        // Times go as ISO text with µs and are cast in SQL: a signal must trace back to its tick
        // (at ~90 ticks per ms only the µs event time does that), and postgres.js serializes a
        // timestamptz parameter through a JS Date, which keeps milliseconds only.
        const col = <T>(f: (s: SignalOut) => T): T[] => signals.map(f);
        const insert = sql`
          insert into signals (id, ts, ts_event, symbol, direction, pattern, score, price, features, model_version)
          select id, ts::timestamptz, ts_event::timestamptz, symbol, direction, pattern, score,
                 price::numeric, features::jsonb, ${modelVersion}
          from unnest(
            ${col((s) => s.id)}::uuid[], ${col((s) => isoFromMicros(s.tsSignalUs))}::text[],
            ${col((s) => isoFromMicros(s.tsEventUs))}::text[], ${col((s) => s.symbol)}::text[],
            ${col((s) => s.direction)}::text[], ${col((s) => s.pattern)}::text[],
            ${col((s) => s.score)}::float8[], ${col((s) => String(s.price))}::text[],
            ${featuresJson}::text[]
          ) as r(id, ts, ts_event, symbol, direction, pattern, score, price, features)
          on conflict do nothing`;
        await withDeadline(insert, this.#o.dbTimeoutMs ?? 5000, 'insert signals');
      } catch (err) {
        this.persistErrors++;
        // Whatever failed, the retry goes out on a fresh connection: one that saw a deadline may
        // still be mid-protocol, and one a restart cut is dead. The abandoned insert may still
        // commit; the retry then skips those ids (on conflict do nothing).
        if (isDeadlineExceeded(err)) this.persistTimeouts++;
        this.#db.replace();
        throw err;
      }
    }
    try {
      await Promise.all(
        signals.map((s, i) =>
          bus.xadd(
            stream,
            {
              id: s.id,
              symbol: s.symbol,
              direction: s.direction,
              pattern: s.pattern,
              score: String(s.score),
              price: String(s.price),
              tsEvent: isoFromMicros(s.tsEventUs),
              tsSignal: isoFromMicros(s.tsSignalUs),
              features: featuresJson[i] as string,
              modelVersion,
              halted: halted ? 'true' : 'false',
            },
            { maxLen },
          ),
        ),
      );
    } catch (err) {
      this.publishErrors++;
      throw err;
    }
    if (halted) this.signalsHalted += signals.length;
    if (onSignal) for (const s of signals) onSignal(s);
  }
}

/** JSON has no NaN/Infinity: a feature not yet defined (warm-up) is sent as null. */
function sanitizeFeatures(f: Record<string, number>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(f)) out[k] = Number.isFinite(v) ? v : null;
  return out;
}

/**
 * The random bits of the signal ids, drawn from the CSPRNG a pool at a time: a `randomBytes` call
 * per id cost the publisher ~65 µs of every signal at low rates (measured: the first crypto call
 * after the main thread has idled a few ms takes 60–80 µs, the next one 3 µs), i.e. about a quarter
 * of the scored → delivered hop. Each byte of the pool is used once.
 */
const UUID_RANDOM_BYTES = 10;
const UUID_POOL_BYTES = 4096 - (4096 % UUID_RANDOM_BYTES);
const uuidPool = new Uint8Array(UUID_POOL_BYTES);
let uuidPoolAt = UUID_POOL_BYTES;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A UUID version 7 (RFC 9562): 48-bit ms timestamp, version, random bits; time-ordered. */
export function uuidv7(ms = Date.now()): string {
  if (uuidPoolAt + UUID_RANDOM_BYTES > UUID_POOL_BYTES) {
    randomFillSync(uuidPool);
    uuidPoolAt = 0;
  }
  const r = uuidPool;
  const o = uuidPoolAt;
  uuidPoolAt += UUID_RANDOM_BYTES;
  const h = (b: number): string => HEX[b & 0xff] as string;
  return (
    h(Math.floor(ms / 2 ** 40)) +
    h(Math.floor(ms / 2 ** 32)) +
    h(ms >>> 24) +
    h(ms >>> 16) +
    '-' +
    h(ms >>> 8) +
    h(ms) +
    '-' +
    h(((r[o] as number) & 0x0f) | 0x70) +
    h(r[o + 1] as number) +
    '-' +
    h(((r[o + 2] as number) & 0x3f) | 0x80) +
    h(r[o + 3] as number) +
    '-' +
    h(r[o + 4] as number) +
    h(r[o + 5] as number) +
    h(r[o + 6] as number) +
    h(r[o + 7] as number) +
    h(r[o + 8] as number) +
    h(r[o + 9] as number)
  );
}
