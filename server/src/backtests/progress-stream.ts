import { backtestProgressMessageSchema } from '@aegis/shared/bus/backtest-jobs';
import type { Bus } from '@aegis/shared/bus/types';
import { isDeadlineExceeded, withDeadline } from '@aegis/shared/deadline';
import type { BacktestProgress, BacktestStatus } from '@aegis/shared/schemas/backtest';
import { backtestProgressSchema } from '@aegis/shared/schemas/backtest';
import { type Db, withTenant } from '../db/database.ts';
import { openChannelFeed } from '../signals/channel-feed.ts';
import { backtestState, isTerminal } from './service.ts';

/** One event of `backtests.progress`. */
export interface BacktestProgressEvent {
  readonly id: string;
  readonly status: BacktestStatus;
  readonly progress: BacktestProgress | null;
  readonly error: string | null;
}

/**
 * Without a message for this long, the row is read again: the worker may run where this
 * server's bus does not reach (or a message was missed), and the row is the truth.
 */
const REREAD_MS = 2_000;

/**
 * A backtest's live progress: the row's state first, then each message the worker publishes,
 * re-reading the row whenever the channel is quiet; it ends after the terminal status. Opened
 * (subscribed) before the first read, so nothing falls between the two.
 */
export async function openProgressStream(
  deps: { db: Db; bus: Bus; channel: string; deskId: string; backtestId: string },
  signal: AbortSignal | undefined,
): Promise<AsyncGenerator<BacktestProgressEvent>> {
  const feed = await openChannelFeed(deps.bus, deps.channel, { signal, maxBuffered: 1_000 });
  signal?.addEventListener('abort', () => void feed.close(), { once: true });
  const read = () => withTenant(deps.db, deps.deskId, (tx) => backtestState(tx, deps.backtestId));
  let first: Awaited<ReturnType<typeof read>>;
  try {
    // NOT_FOUND for another desk's backtest, before the stream is accepted.
    first = await read();
  } catch (e) {
    await feed.close();
    throw e;
  }
  return (async function* () {
    const it = feed[Symbol.asyncIterator]();
    try {
      let state = first;
      yield { id: deps.backtestId, ...state };
      while (!isTerminal(state.status) && !signal?.aborted) {
        const next = await nextOrTimeout(it, REREAD_MS);
        if (next === 'timeout') {
          const fresh = await read();
          if (fresh.status !== state.status || fresh.progress?.ticks !== state.progress?.ticks) {
            state = fresh;
            yield { id: deps.backtestId, ...state };
          }
          continue;
        }
        if (next.done) return;
        const msg = backtestProgressMessageSchema.safeParse(safeJson(next.value));
        if (!msg.success) continue;
        if (msg.data.type === 'progress') {
          const p = backtestProgressSchema.safeParse(msg.data.progress);
          if (!p.success) continue;
          state = { ...state, status: 'running', progress: p.data };
        } else {
          // A terminal message: the row has the final progress and error; read it.
          state = await read();
        }
        yield { id: deps.backtestId, ...state };
      }
    } finally {
      await feed.close();
    }
  })();
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/** The feed's next message, or 'timeout'. A pending next() stays pending and is reused. */
const pendingNext = new WeakMap<AsyncIterator<string>, Promise<IteratorResult<string>>>();
async function nextOrTimeout(
  it: AsyncIterator<string>,
  ms: number,
): Promise<IteratorResult<string> | 'timeout'> {
  let p = pendingNext.get(it);
  if (!p) {
    p = it.next();
    pendingNext.set(it, p);
  }
  try {
    const r = await withDeadline(p, ms, 'progress feed');
    pendingNext.delete(it);
    return r;
  } catch (err) {
    if (isDeadlineExceeded(err)) return 'timeout';
    throw err;
  }
}
