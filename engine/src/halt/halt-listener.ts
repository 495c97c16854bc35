import type { Bus, Unsubscribe } from '@aegis/shared/bus/types';
import { isDeadlineExceeded, withDeadline } from '@aegis/shared/deadline';
import type { Logger } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import { OwnedConnection } from '../db/owned-connection.ts';

/**
 * The engine's view of the halt: it must reach the engine within 1 s, with Redis pub/sub
 * for speed and PostgreSQL as the truth (bench/halt-propagation.ts measures both paths).
 *
 * Two paths, one state:
 * - pub/sub: the server publishes `{ scope, tenantId, engaged, ts }` on `aegis:halt` right after
 *   committing the `halts` row (server/src/execution/halt.ts). A global message
 *   flips the state at once and triggers an immediate confirming poll.
 * - poll: every `ENGINE_HALT_POLL_MS` the global row is read from PostgreSQL, so a missed or lost
 *   message (Redis down, subscriber reconnecting) is corrected within one poll, and a message
 *   the database does not back is undone by the next poll.
 *
 * Ordering: the server commits before it publishes, so a read that *starts* after a message was
 * received sees that message's commit. A poll that was already in flight when a message arrived
 * may carry the older row; its result is discarded (the next poll, or the confirming one, runs
 * after the message and is authoritative). No clocks are compared to order the two paths.
 *
 * Scope: the engine reads only the GLOBAL switch. It connects as the application role without
 * `app.tenant_id`; row-level security shows it the global row (tenant_id NULL) and hides every
 * desk row, and that is what it needs: the engine's signals are market-wide, not per desk, so a
 * desk halt has nothing to act on here. Desk halts are enforced where desks trade — the server
 * reads both rows in every order's transaction — and desk messages on the channel are ignored.
 *
 * Database unreachable: the last known state is kept (and `/health` shows the age of the last
 * successful check and the error count); the server's own per-order check does not depend on
 * the engine, so the engine neither invents a halt nor lifts one it cannot confirm.
 *
 * Each read is bounded by `dbTimeoutMs`: a connection left silent by a restart or a stalled
 * network (socket open, nothing answers) would otherwise hold the read forever, every later poll
 * would coalesce onto it, and the engine would never again hear the halt from PostgreSQL. After a
 * failed or abandoned read the listener drops its connection and the next poll opens a fresh one
 * from `connect` (its own, never a pool another part of the engine uses).
 */

/** The server's channel (`HALT_CHANNEL` in server/src/execution/types.ts; the engine must not import server). */
export const HALT_CHANNEL = 'aegis:halt';

export type HaltVia = 'pubsub' | 'poll';

export interface HaltState {
  /** The global halt is engaged. */
  readonly global: boolean;
  /** When the current state began (engaged_at, released_at or the message's ts); null if never set. */
  readonly since: string | null;
  /** The operator's reason while engaged (known once the row has been read). */
  readonly reason: string | null;
}

export interface HaltStatus extends HaltState {
  /** Which path produced the current state (null: the initial default, nothing read yet). */
  readonly via: HaltVia | null;
  /** Last successful read of the global row (ISO), null before the first. */
  readonly checkedAt: string | null;
  /** Subscribed to the halt channel (false: poll only). */
  readonly subscribed: boolean;
  readonly pollErrors: number;
  /** Reads abandoned at the deadline (each also counts in pollErrors and replaced the connection). */
  readonly pollTimeouts: number;
  readonly pollMs: number;
}

export interface HaltMetrics {
  readonly global: boolean;
  /** Seconds from the switch changing (message ts / row engaged_at|released_at) to the engine seeing it. */
  readonly lastPropagationSeconds: number | null;
  readonly lastVia: HaltVia | null;
  readonly transitions: Readonly<Record<HaltVia, number>>;
  readonly messages: number;
  readonly pollErrors: number;
  readonly pollTimeouts: number;
  readonly subscribed: boolean;
}

export interface HaltTransition extends HaltState {
  readonly via: HaltVia;
  readonly propagationSeconds: number | null;
}

export interface HaltListenerOptions {
  readonly bus: Bus;
  /**
   * Opens the listener's own connection (one is enough: one read at a time). It is opened at
   * start, replaced after a failed read and ended at stop.
   */
  readonly connect?: (() => Sql) | undefined;
  /**
   * Or a client that belongs to the caller (never ended or replaced here); the read is still
   * bounded. Neither: pub/sub only (no database configured; the engine then has no source of truth).
   */
  readonly sql?: Sql | undefined;
  /** Deadline for one read of the global row, ms (default 5000). */
  readonly dbTimeoutMs?: number;
  readonly pollMs: number;
  readonly log: Logger;
  /** Default `aegis:halt`; tests use their own channel on a shared Redis. */
  readonly channel?: string;
  /** Called on each change of the global state (tests, benchmark). */
  readonly onChange?: (t: HaltTransition) => void;
  readonly clock?: () => number;
}

const SUBSCRIBE_TIMEOUT_MS = 2000;

interface HaltMessage {
  readonly scope: 'global' | 'desk';
  readonly engaged: boolean;
  readonly ts: string;
}

interface GlobalRow {
  engaged: boolean;
  reason: string | null;
  engaged_at: Date | null;
  released_at: Date | null;
  updated_at: Date;
}

export class HaltListener {
  readonly #o: HaltListenerOptions;
  readonly #clock: () => number;
  readonly #db: OwnedConnection;
  #state: HaltState = { global: false, since: null, reason: null };
  #via: HaltVia | null = null;
  #checkedAt: number | null = null;
  #subscribed = false;
  #unsubscribe: Unsubscribe | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  /** True until the read at start has completed. */
  #initial = true;
  /** Bumped per message; a poll that saw it change while in flight is stale. */
  #messageSeq = 0;
  #polling: Promise<void> | null = null;
  #pollAgain = false;
  #messages = 0;
  #pollErrors = 0;
  #pollTimeouts = 0;
  #lastPropagation: number | null = null;
  #lastVia: HaltVia | null = null;
  readonly #transitions: Record<HaltVia, number> = { pubsub: 0, poll: 0 };

  constructor(options: HaltListenerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#db = new OwnedConnection(options);
  }

  /** Subscribes (bounded wait; poll-only if the bus refuses) and reads the row once before returning. */
  async start(): Promise<void> {
    const channel = this.#o.channel ?? HALT_CHANNEL;
    try {
      this.#unsubscribe = await withDeadline(
        this.#o.bus.subscribe(channel, (raw) => this.#onMessage(raw)),
        SUBSCRIBE_TIMEOUT_MS,
        'halt subscribe',
      );
      this.#subscribed = true;
    } catch (err) {
      this.#o.log.warn(
        { err: (err as Error).message, channel },
        'halt: subscription unavailable; the halt reaches the engine by polling PostgreSQL only',
      );
    }
    const sql = this.#db.open();
    if (sql) {
      await this.pollNow();
      this.#schedule();
    }
    this.#initial = false;
    if (!sql) {
      this.#o.log.warn('halt: no database — the global halt is known from pub/sub only');
    }
    this.#o.log.info({ ...this.status() }, 'halt: listening');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#polling;
    await this.#unsubscribe?.().catch(() => {});
    await this.#db.end();
  }

  /** Cheap; read per signal batch. */
  isHalted(): boolean {
    return this.#state.global;
  }

  state(): HaltState {
    return this.#state;
  }

  status(): HaltStatus {
    return {
      ...this.#state,
      via: this.#via,
      checkedAt: this.#checkedAt === null ? null : new Date(this.#checkedAt).toISOString(),
      subscribed: this.#subscribed,
      pollErrors: this.#pollErrors,
      pollTimeouts: this.#pollTimeouts,
      pollMs: this.#o.pollMs,
    };
  }

  metrics(): HaltMetrics {
    return {
      global: this.#state.global,
      lastPropagationSeconds: this.#lastPropagation,
      lastVia: this.#lastVia,
      transitions: { ...this.#transitions },
      messages: this.#messages,
      pollErrors: this.#pollErrors,
      pollTimeouts: this.#pollTimeouts,
      subscribed: this.#subscribed,
    };
  }

  /** One read of the global row now (coalesced with one in flight: a read starting after this call). */
  pollNow(): Promise<void> {
    if (!this.#db.current || this.#stopped) return Promise.resolve();
    if (this.#polling) {
      this.#pollAgain = true;
      return this.#polling;
    }
    this.#polling = (async () => {
      do {
        this.#pollAgain = false;
        await this.#pollOnce();
      } while (this.#pollAgain && !this.#stopped);
    })().finally(() => {
      this.#polling = null;
    });
    return this.#polling;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.pollNow().finally(() => this.#schedule());
    }, this.#o.pollMs);
    this.#timer.unref();
  }

  async #pollOnce(): Promise<void> {
    const sql = this.#db.current as Sql;
    const seq = this.#messageSeq;
    let rows: GlobalRow[];
    try {
      rows = await withDeadline(
        sql<GlobalRow[]>`
          select engaged, reason, engaged_at, released_at, updated_at
          from halts where scope = 'global' and tenant_id is null`,
        this.#o.dbTimeoutMs ?? 5000,
        'read halts',
      );
    } catch (err) {
      this.#pollErrors++;
      if (isDeadlineExceeded(err)) this.#pollTimeouts++;
      // The next read goes out on a fresh connection: one that saw a deadline may still be
      // mid-protocol (or silent for good), and one a restart cut is dead.
      this.#db.replace();
      this.#o.log.warn(
        { err: (err as Error).message, errors: this.#pollErrors, timeouts: this.#pollTimeouts },
        'halt: reading halts failed; keeping the last known state',
      );
      return;
    }
    const now = this.#clock();
    // A message arrived while this read was in flight: the read may predate its commit.
    if (seq !== this.#messageSeq) {
      this.#pollAgain = true;
      return;
    }
    this.#checkedAt = now;
    const row = rows[0];
    const engaged = row?.engaged ?? false;
    const changedAt = row ? ((engaged ? row.engaged_at : row.released_at) ?? row.updated_at) : null;
    this.#apply(
      {
        global: engaged,
        since: changedAt ? changedAt.toISOString() : null,
        reason: engaged ? (row?.reason ?? null) : null,
      },
      'poll',
      changedAt ? changedAt.getTime() : null,
      now,
    );
  }

  #onMessage(raw: string): void {
    const m = parseHaltMessage(raw);
    if (m?.scope !== 'global') return;
    const now = this.#clock();
    this.#messages++;
    this.#messageSeq++;
    const tsMs = Date.parse(m.ts);
    this.#apply(
      {
        global: m.engaged,
        since: Number.isFinite(tsMs) ? new Date(tsMs).toISOString() : null,
        reason: m.engaged ? this.#state.reason : null,
      },
      'pubsub',
      Number.isFinite(tsMs) ? tsMs : null,
      now,
    );
    // Confirm from the truth (and learn the reason): a read that starts after this message.
    void this.pollNow();
  }

  #apply(next: HaltState, via: HaltVia, changedAtMs: number | null, seenAtMs: number): void {
    const prev = this.#state;
    if (prev.global === next.global) {
      // Same state: keep `since` from whichever path saw it first; fill in the reason.
      if (via === 'poll') {
        this.#state = { ...prev, reason: next.reason, since: next.since ?? prev.since };
        if (this.#via === null) this.#via = 'poll';
      }
      return;
    }
    this.#state = next;
    this.#via = via;
    // The read at start is no propagation: the switch may have been engaged days ago.
    const propagation =
      changedAtMs === null || this.#initial ? null : Math.max(0, (seenAtMs - changedAtMs) / 1000);
    if (propagation !== null) this.#lastPropagation = propagation;
    this.#lastVia = via;
    this.#transitions[via]++;
    this.#o.log.warn(
      { global: next.global, reason: next.reason, since: next.since, via, propagationSeconds: propagation },
      next.global
        ? 'halt: GLOBAL HALT ENGAGED — signals are published marked halted=true'
        : 'halt: global halt released',
    );
    this.#o.onChange?.({ ...next, via, propagationSeconds: propagation });
  }
}

/** The server's message (`HaltMessage` in server/src/execution/halt.ts); null if malformed. */
export function parseHaltMessage(raw: string): HaltMessage | null {
  try {
    const m = JSON.parse(raw) as Partial<HaltMessage>;
    if ((m.scope !== 'global' && m.scope !== 'desk') || typeof m.engaged !== 'boolean') return null;
    return { scope: m.scope, engaged: m.engaged, ts: typeof m.ts === 'string' ? m.ts : '' };
  } catch {
    return null;
  }
}
