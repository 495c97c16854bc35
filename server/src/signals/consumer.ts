import type { Bus, StreamEntry } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';
import { type SignalView, signalStreamEntrySchema } from '@aegis/shared/schemas/signal';
import type { Db } from '../db/database.ts';
import { type StoredSignal, storeSignal } from './service.ts';
import type { DecisionStreams } from './streams.ts';

/**
 * The server's consumer of `aegis:signals` (consumer group `server`). Delivery is at least once
 * and processing is idempotent, which together make each signal count once:
 *
 *   1. At start, drain this consumer's OWN pending entries (read before a crash, never acked).
 *   2. Then read new entries; every `claimEveryMs`, auto-claim entries idle for `claimIdleMs` on
 *      any consumer of the group (a dead instance's, or this one's own failures).
 *   3. Per entry: parse → store (insert skips ids already there) → `onStored` (the decision
 *      agent, which itself skips signals it already proposed on) → only then ACK.
 *   4. A malformed entry can never succeed: it goes to the dead-letter stream at once. An entry
 *      that keeps failing goes there once it has been delivered more than `maxDeliveries` times.
 *
 * A failure leaves the entry pending (not acked); the claim sweep retries it later.
 *
 * Redis restarted empty (docs/runbook.md, "Redis lost"): the stream and the group are gone and every group
 * read answers NOGROUP. The bus recreates a group it ensured (from 0, logged once per
 * recreation) and the read goes on, so signals published after the restart become proposals;
 * entries that were pending before the restart are lost with Redis, which the engine's signals
 * table still holds (PostgreSQL is the record, never Redis alone).
 */
export interface SignalConsumerOptions {
  readonly bus: Bus;
  readonly db: Db;
  readonly log: Logger;
  readonly streams: DecisionStreams;
  readonly group?: string;
  /** Stable across restarts of the same instance, so it finds its own pending entries. */
  readonly consumer: string;
  readonly maxDeliveries?: number;
  /** Longer than the slowest processing (a model call with retries), or entries get claimed twice. */
  readonly claimIdleMs?: number;
  readonly claimEveryMs?: number;
  readonly blockMs?: number;
  readonly count?: number;
  /** Entries processed at once (default 4). */
  readonly concurrency?: number;
  /** After the signal is committed and before the ack (the decision agent). */
  readonly onStored?: (signal: SignalView, firstTime: boolean) => Promise<void>;
}

export class SignalConsumer {
  readonly #o: SignalConsumerOptions;
  readonly #group: string;
  #stopped = false;
  #running: Promise<void> | null = null;
  processed = 0;
  failures = 0;
  deadLettered = 0;
  claimed = 0;

  constructor(options: SignalConsumerOptions) {
    this.#o = options;
    this.#group = options.group ?? 'server';
  }

  #grouped = false;

  get group(): string {
    return this.#group;
  }

  async start(): Promise<void> {
    // The server must start (and serve reads, cancels and the halt) with Redis down, so a
    // missing bus is a warning here and the loop keeps trying to create the group.
    this.#grouped = await this.#ensureGroup().catch((err: unknown) => {
      this.#o.log.warn({ err: (err as Error).message }, 'signals: bus unavailable at start; will retry');
      return false;
    });
    this.#running ??= this.#run();
  }

  /** '0': a group created after the engine started still gets what the stream holds. */
  async #ensureGroup(): Promise<boolean> {
    await this.#o.bus.ensureGroup(this.#o.streams.signals, this.#group, '0');
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #run(): Promise<void> {
    const { bus, streams, consumer, log } = this.#o;
    const stream = streams.signals;
    const count = this.#o.count ?? 100;
    while (!this.#grouped && !this.#stopped) {
      await new Promise((r) => setTimeout(r, 1000));
      this.#grouped = await this.#ensureGroup().catch(() => false);
      if (this.#grouped) log.info({ stream }, 'signals: bus reachable; consumer group ready');
    }
    try {
      let after = '0';
      let drained = 0;
      while (!this.#stopped) {
        const own = await bus.readGroup(stream, this.#group, consumer, { id: after, count });
        if (own.length === 0) break;
        await this.#handleAll(own);
        drained += own.length;
        after = (own[own.length - 1] as StreamEntry).id;
      }
      if (drained > 0) log.info({ stream, consumer, drained }, 'signals: drained own pending entries');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'signals: pending drain failed; the claim sweep retries');
    }
    const claimEvery = this.#o.claimEveryMs ?? 5000;
    let lastClaim = Date.now();
    while (!this.#stopped) {
      try {
        if (Date.now() - lastClaim >= claimEvery) {
          lastClaim = Date.now();
          await this.#reclaim();
        }
        const entries = await bus.readGroup(stream, this.#group, consumer, {
          count,
          blockMs: this.#o.blockMs ?? 1000,
        });
        await this.#handleAll(entries);
      } catch (err) {
        if (this.#stopped) break;
        log.warn({ err: (err as Error).message, stream }, 'signals: read failed, retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** One pass over the group's pending list: take over idle entries, park poison ones. */
  async #reclaim(): Promise<void> {
    const { bus, streams, consumer } = this.#o;
    const max = this.#o.maxDeliveries ?? 5;
    let start = '0-0';
    do {
      const r = await bus.autoclaim(streams.signals, this.#group, consumer, this.#o.claimIdleMs ?? 120_000, {
        start,
        count: 100,
      });
      for (const e of r.entries) {
        if (this.#stopped) return;
        this.claimed++;
        if (e.deliveries > max) await this.#deadLetter(e, `delivered ${e.deliveries} times`, e.deliveries);
        else await this.#handle(e);
      }
      start = r.nextStart;
    } while (start !== '0-0' && !this.#stopped);
  }

  /**
   * Entries of one read, `concurrency` at a time: a slow model call on one signal does not hold
   * up the others. Each entry is acknowledged on its own, after its own commit.
   */
  async #handleAll(entries: readonly StreamEntry[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < entries.length && !this.#stopped) await this.#handle(entries[next++] as StreamEntry);
    };
    const n = Math.min(this.#o.concurrency ?? 4, entries.length);
    await Promise.all(Array.from({ length: n }, worker));
  }

  async #handle(e: StreamEntry): Promise<void> {
    const { bus, db, streams, log } = this.#o;
    const parsed = signalStreamEntrySchema.safeParse(e.fields);
    if (!parsed.success) {
      const reason = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`)
        .join('; ');
      await this.#deadLetter(e, `malformed: ${reason}`.slice(0, 500), 1);
      return;
    }
    try {
      const { stored, view, streamId } = await storeSignal(db, parsed.data);
      // Fan-out to live subscribers on every instance; the row is committed already.
      const live: StoredSignal = { streamId, signal: view };
      await bus.publish(streams.signalStored, JSON.stringify(live)).catch((err) => {
        log.warn(
          { err: (err as Error).message },
          'signals: live publish failed (subscribers catch up on reconnect)',
        );
      });
      await this.#o.onStored?.(view, stored);
      await bus.ack(streams.signals, this.#group, [e.id]);
      this.processed++;
    } catch (err) {
      this.failures++;
      // Not acked: stays pending; the claim sweep redelivers it, counting deliveries.
      log.error({ err, entryId: e.id }, 'signals: processing failed; left pending for retry');
    }
  }

  async #deadLetter(e: StreamEntry, reason: string, deliveries: number): Promise<void> {
    const { bus, streams, log } = this.#o;
    await bus.xadd(streams.signalsDead, {
      ...e.fields,
      originalId: e.id,
      deliveries: String(deliveries),
      reason,
    });
    await bus.ack(streams.signals, this.#group, [e.id]);
    this.deadLettered++;
    log.warn({ entryId: e.id, reason }, 'signals: entry dead-lettered');
  }
}
