import type { Bus } from '@aegis/shared/bus/types';
import type { Logger } from '@aegis/shared/logging';

/**
 * The round discipline the venue publishers share (writer/price-publisher.ts,
 * book/book-publisher.ts): a round every `publishMs`; every `fullRepublishMs` the round first
 * marks every instrument again, so a Redis that restarted empty gets its snapshot back within
 * seconds (readers dedupe, so repeats are harmless); at most one round in flight — a call during
 * one gets that round, so a slow bus delays data and never queues rounds; `stop` waits for the
 * round in flight and sends a last one, so what the feeds saw last is what servers keep.
 */
export interface PublishRoundsOptions {
  /** Ms between rounds. */
  readonly publishMs: number;
  /** Ms between full republishes. */
  readonly fullRepublishMs: number;
  /** Marks every instrument for the next round. */
  markAll(): void;
  /** Starts a round over what changed, or returns null when nothing did. */
  round(): Promise<void> | null;
}

export class PublishRounds {
  readonly #o: PublishRoundsOptions;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<void> | null = null;

  constructor(options: PublishRoundsOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#timer) return;
    const fullEvery = Math.max(1, Math.round(this.#o.fullRepublishMs / this.#o.publishMs));
    let n = 0;
    this.#timer = setInterval(() => {
      if (++n % fullEvery === 0) this.#o.markAll();
      void this.now();
    }, this.#o.publishMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#inFlight;
    await this.now();
  }

  /** One round now (the timer's job; tests call it through the publisher to avoid waiting). */
  now(): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    const round = this.#o.round();
    if (!round) return Promise.resolve();
    this.#inFlight = round.finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }
}

/**
 * Sends one chunk of a round: the snapshot fields with one HSET, then the update message with one
 * PUBLISH, assembled from the JSON already made for the hash (each item serialized once):
 * `{"venue":…,"<list>":[…]}`.
 */
export async function sendVenueChunk(
  bus: Bus,
  key: string,
  channel: string,
  venue: string,
  list: 'prices' | 'books',
  fields: Record<string, string>,
  json: readonly string[],
): Promise<void> {
  await bus.hset(key, fields);
  await bus.publish(channel, `{"venue":${JSON.stringify(venue)},"${list}":[${json.join(',')}]}`);
}

/** A failed round, logged on the first failure and every hundredth after (never per round). */
export function warnRoundFailed(
  log: Logger,
  what: string,
  venue: string,
  errors: number,
  err: unknown,
): void {
  if (errors === 1 || errors % 100 === 0) {
    log.warn({ err: (err as Error).message, venue, errors }, `${what}: publish failed; retrying next round`);
  }
}
