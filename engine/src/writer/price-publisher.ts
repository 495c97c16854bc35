import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import { DEFAULT_MAX_FUTURE_SKEW_MS, EVENT_TIME_FLOOR_MS } from '@aegis/shared/market/event-time';
import {
  decimalFromNumber,
  isoFromMicros,
  type VenuePrice,
  venuePricesChannel,
  venuePricesKey,
} from '@aegis/shared/market/venue-prices';
import { wallClockUs } from '../feeds/feed.ts';
import type { SymbolTable } from '../feeds/symbol-table.ts';
import type { TickRecord, TickSink } from '../feeds/tick.ts';
import { PublishRounds, sendVenueChunk, warnRoundFailed } from './publish-rounds.ts';

/**
 * The venue price component (the one price source of execution): the latest top of book and last
 * trade per instrument of ONE venue, taken from that venue's feeds only, published to the bus
 * as the snapshot hash `<prefix>prices:<venue>` plus an update message on
 * `<prefix>prices:<venue>:updates` (shared/src/market/venue-prices.ts).
 *
 * Which ticks it sees is decided by wiring, not by inspecting ticks: the engine hands venue feeds
 * (synthetic, replay) `sinkFor(sink)`, which observes each tick and forwards it; the order-flow
 * feed — what desks ingest — gets the plain sink, so desk flow can never become an execution
 * price however it is dated or priced.
 *
 * Hot path: `observe` writes a few typed-array slots per tick, no allocation. Publishing is
 * coalesced: every `publishMs` one HSET with the instruments that changed and one PUBLISH; at
 * most one round in flight (a slow bus delays prices, it never queues rounds). A failed round
 * leaves its instruments marked, so the next round sends them.
 *
 * Implausible event times are refused at intake and counted (`rejectedFuture`, `rejectedOld`),
 * never stored as latest: a tick beyond the clock skew in the future would otherwise win every
 * "newest" comparison until the wall clock caught up. Per instrument, a tick older than the one
 * held is ignored (out of order).
 */
export interface PricePublisherOptions {
  readonly bus: Bus;
  /** Venue the prices belong to: `instruments.venue` of the instruments this engine feeds. */
  readonly venue: string;
  /** Bus key prefix, e.g. `aegis:` (the same as the engine's stream prefix). */
  readonly prefix: string;
  readonly symbolTable: SymbolTable;
  /** Capacity in symbols (the symbol table's). */
  readonly capacity: number;
  /** Ms between publish rounds. */
  readonly publishMs: number;
  readonly maxFutureSkewMs?: number;
  readonly log: Logger;
}

export class PricePublisher {
  readonly #o: PricePublisherOptions;
  readonly #key: string;
  readonly #channel: string;
  readonly #skewUs: number;
  // Per symbol id: top of book and last trade (NaN = none yet), event times in µs.
  readonly #bid: Float64Array;
  readonly #ask: Float64Array;
  readonly #bidSize: Float64Array;
  readonly #askSize: Float64Array;
  readonly #quoteUs: Float64Array;
  readonly #last: Float64Array;
  readonly #lastSize: Float64Array;
  readonly #tradeUs: Float64Array;
  /** Ids changed since the last round: a flag per id plus the list, so a round is O(changed). */
  readonly #dirtyFlag: Uint8Array;
  #dirty: Int32Array;
  #dirtyCount = 0;
  /** Wall clock (µs) as last read; only ever behind the real clock. */
  #nowUs = 0;
  readonly #rounds: PublishRounds;
  rejectedFuture = 0;
  rejectedOld = 0;
  pricesPublished = 0;
  rounds = 0;
  publishErrors = 0;

  constructor(options: PricePublisherOptions) {
    this.#o = options;
    this.#key = venuePricesKey(options.prefix, options.venue);
    this.#channel = venuePricesChannel(options.prefix, options.venue);
    this.#skewUs = (options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS) * 1000;
    const n = options.capacity;
    const nan = () => new Float64Array(n).fill(Number.NaN);
    this.#bid = nan();
    this.#ask = nan();
    this.#bidSize = nan();
    this.#askSize = nan();
    this.#quoteUs = nan();
    this.#last = nan();
    this.#lastSize = nan();
    this.#tradeUs = nan();
    this.#dirtyFlag = new Uint8Array(n);
    this.#dirty = new Int32Array(n);
    this.#rounds = new PublishRounds({
      publishMs: options.publishMs,
      fullRepublishMs: FULL_REPUBLISH_MS,
      markAll: () => this.markAll(),
      round: () => {
        if (this.#dirtyCount === 0) return null;
        const ids = this.#dirty.slice(0, this.#dirtyCount);
        for (const id of ids) this.#dirtyFlag[id] = 0;
        this.#dirtyCount = 0;
        return this.#publish(ids);
      },
    });
  }

  get venue(): string {
    return this.#o.venue;
  }

  /** A sink for a venue feed: observes each tick, then hands it on unchanged. */
  sinkFor(inner: TickSink): TickSink {
    return {
      publish: (t) => {
        this.observe(t);
        return inner.publish(t);
      },
      flush: () => inner.flush?.(),
      backpressure: () => inner.backpressure?.() ?? null,
    };
  }

  observe(t: TickRecord): void {
    const id = t.symbolId;
    if (id < 0 || id >= this.#dirtyFlag.length) return;
    const ts = t.tsEventUs;
    // The clock is read only when a tick looks ahead of the cached reading (which is never ahead
    // of the real clock): one clock read per tick costs more than the rest of observe.
    if (ts > this.#nowUs + this.#skewUs) {
      this.#nowUs = wallClockUs();
      if (ts > this.#nowUs + this.#skewUs) {
        this.rejectedFuture++;
        return;
      }
    }
    if (ts < EVENT_TIME_FLOOR_US) {
      this.rejectedOld++;
      return;
    }
    let changed = false;
    // Every synthetic tick carries the touch; a replayed trade may carry none (bid = ask = 0).
    if (t.bid > 0 && t.ask >= t.bid && !(ts < (this.#quoteUs[id] as number))) {
      this.#bid[id] = t.bid;
      this.#ask[id] = t.ask;
      this.#bidSize[id] = t.bidSize;
      this.#askSize[id] = t.askSize;
      this.#quoteUs[id] = ts;
      changed = true;
    }
    if (t.kind === 1 && t.price > 0 && t.size > 0 && !(ts < (this.#tradeUs[id] as number))) {
      this.#last[id] = t.price;
      this.#lastSize[id] = t.size;
      this.#tradeUs[id] = ts;
      changed = true;
    }
    if (changed && this.#dirtyFlag[id] === 0) {
      this.#dirtyFlag[id] = 1;
      this.#dirty[this.#dirtyCount++] = id;
    }
  }

  /**
   * Rounds on the timer. Now and then every instrument, changed or not: a Redis that restarted
   * empty gets its snapshot back within seconds even for instruments that do not tick (servers
   * dedupe by event time, so a repeated price is not a new trade).
   */
  start(): void {
    this.#rounds.start();
  }

  /** Marks every instrument that has a price for the next round. */
  markAll(): void {
    const known = Math.min(this.#o.symbolTable.size, this.#dirtyFlag.length);
    for (let id = 0; id < known; id++) {
      if (!Number.isNaN(this.#quoteUs[id] as number) || !Number.isNaN(this.#tradeUs[id] as number)) {
        this.#markDirty(id);
      }
    }
  }

  /** Final round at shutdown: what the feeds saw last is what servers keep. */
  stop(): Promise<void> {
    return this.#rounds.stop();
  }

  /** One publish round now (the timer's job; tests call it to avoid waiting). */
  publishNow(): Promise<void> {
    return this.#rounds.now();
  }

  async #publish(ids: Int32Array): Promise<void> {
    const tsIngest = isoFromMicros(wallClockUs());
    const fields: Record<string, string> = {};
    const json: string[] = [];
    for (const id of ids) {
      const p = this.#priceOf(id, tsIngest);
      if (!p) continue;
      const one = JSON.stringify(p);
      fields[p.instrument] = one;
      json.push(one);
    }
    if (json.length === 0) return;
    try {
      // A VenuePriceUpdate (each price is serialized once per round).
      await sendVenueChunk(this.#o.bus, this.#key, this.#channel, this.#o.venue, 'prices', fields, json);
      this.rounds++;
      this.pricesPublished += json.length;
    } catch (err) {
      this.publishErrors++;
      // Resend these instruments next round (with whatever is newest by then).
      for (const id of ids) this.#markDirty(id);
      warnRoundFailed(this.#o.log, 'venue prices', this.#o.venue, this.publishErrors, err);
    }
  }

  #markDirty(id: number): void {
    if (this.#dirtyFlag[id] === 1) return;
    this.#dirtyFlag[id] = 1;
    this.#dirty[this.#dirtyCount++] = id;
  }

  #priceOf(id: number, tsIngest: string): VenuePrice | null {
    const bid = decimalFromNumber(this.#bid[id] as number);
    const ask = decimalFromNumber(this.#ask[id] as number);
    const last = decimalFromNumber(this.#last[id] as number);
    const lastSize = decimalFromNumber(this.#lastSize[id] as number);
    const quote =
      bid !== null && ask !== null && bid !== '0'
        ? {
            bid,
            ask,
            bidSize: decimalFromNumber(this.#bidSize[id] as number) ?? '0',
            askSize: decimalFromNumber(this.#askSize[id] as number) ?? '0',
            tsEvent: isoFromMicros(this.#quoteUs[id] as number),
          }
        : null;
    const trade =
      last !== null && lastSize !== null && last !== '0' && lastSize !== '0'
        ? { price: last, size: lastSize, tsEvent: isoFromMicros(this.#tradeUs[id] as number) }
        : null;
    if (!quote && !trade) return null;
    return { venue: this.#o.venue, instrument: this.#o.symbolTable.symbolOf(id), quote, trade, tsIngest };
  }
}

const EVENT_TIME_FLOOR_US = EVENT_TIME_FLOOR_MS * 1000;
/** How often every instrument is republished, changed or not (ms). */
const FULL_REPUBLISH_MS = 5_000;
