import type { Logger } from '@aegis/shared/logging';
import type { EngineConfig } from '../config.ts';
import type { Feed } from '../feeds/feed.ts';

/**
 * A feed with several durable positions, one `engine_cursors` row each (the order-flow feed of a
 * sharded cluster: one per owned shard, engine/src/shards/shard-feed.ts).
 */
export interface MultiCursorFeed extends Feed {
  cursorPositions(): Record<string, string>;
  commitPositions(positions: Readonly<Record<string, string>>): void;
}

export function isMultiCursorFeed(f: Feed): f is MultiCursorFeed {
  return typeof (f as Partial<MultiCursorFeed>).cursorPositions === 'function';
}

/** The name of a feed's row in `engine_cursors` (a multi-cursor feed names its own rows). */
export function cursorName(feed: Feed, config: EngineConfig): string {
  if (feed.name === 'replay') return `feed:replay:${config.replayFile}`;
  if (feed.name === 'orderflow') return `feed:orderflow:${config.streamPrefix}orderflow:${config.consumer}`;
  return `feed:${feed.name}:seed${config.seed}:symbols${config.symbols}`;
}

/**
 * The engine's feeds and their positions: what a checkpoint records, and the upstream
 * acknowledgements (orderflow XACKs) sent once a position is durable — awaited at shutdown.
 * Made before the writer starts (its commits call `commit`) and filled by the feeds stage.
 */
export class FeedPositions {
  readonly feeds: Feed[] = [];
  readonly #commits = new Set<Promise<void>>();
  readonly #config: EngineConfig;
  readonly #log: Logger;

  constructor(config: EngineConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
  }

  /** Every feed's current position, by cursor name. */
  positions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of this.feeds) {
      if (isMultiCursorFeed(f)) {
        Object.assign(out, f.cursorPositions());
        continue;
      }
      const p = f.position();
      if (p !== null) out[cursorName(f, this.#config)] = p;
    }
    return out;
  }

  /** Acknowledge upstream the positions that became durable (or accepted, with no database). */
  commit(positions: Readonly<Record<string, string>>): void {
    for (const f of this.feeds) {
      if (isMultiCursorFeed(f)) {
        f.commitPositions(positions);
        continue;
      }
      const p = positions[cursorName(f, this.#config)];
      if (p === undefined) continue;
      const c = f
        .commit(p)
        .catch((err: unknown) =>
          this.#log.warn({ err: (err as Error).message, feed: f.name }, 'feed commit failed'),
        )
        .finally(() => this.#commits.delete(c));
      this.#commits.add(c);
    }
  }

  /** The acknowledgements still in flight. */
  inFlight(): Promise<unknown> {
    return Promise.all(this.#commits);
  }
}
