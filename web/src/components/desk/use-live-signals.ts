import { type Accessor, createSignal } from 'solid-js';
import { useSubscription } from '../../lib/subscription.ts';
import { errorMessageOf, trpc } from '../../lib/trpc.ts';
import type { SignalRow } from './signals-table.tsx';

/**
 * Signals for the desk: the latest page from the database, then new ones as they are stored
 * (signals.onNew over SSE), newest first, capped.
 */
export interface LiveSignalFeed {
  readonly rows: Accessor<readonly SignalRow[]>;
  readonly status: Accessor<'loading' | 'live' | 'error'>;
  readonly error: Accessor<string | undefined>;
  readonly connected: Accessor<boolean>;
}

export function useLiveSignals(limit: number): LiveSignalFeed {
  const [rows, setRows] = createSignal<readonly SignalRow[]>([]);
  const [status, setStatus] = createSignal<'loading' | 'live' | 'error'>('loading');
  const [error, setError] = createSignal<string>();
  const [connected, setConnected] = createSignal(false);

  // Newest first by production time, each signal once, at most `limit`.
  const merge = (a: readonly SignalRow[], b: readonly SignalRow[]) => {
    const byId = new Map<string, SignalRow>();
    for (const r of [...a, ...b]) byId.set(r.id, r);
    return [...byId.values()]
      .sort((x, y) => (x.tsSignal < y.tsSignal ? 1 : x.tsSignal > y.tsSignal ? -1 : 0))
      .slice(0, limit);
  };

  // Live first, then the list: the server confirms the stream only once it is following new
  // signals, so nothing stored between the list and the stream is missed (the same order as
  // `aegis signals tail`); what arrives twice is merged by id.
  useSubscription(() => {
    let cancelled = false;
    let listed = false;
    const list = () => {
      if (listed) return;
      listed = true;
      trpc.signals.list
        .query({ limit })
        .then((page) => {
          if (cancelled) return;
          setRows((current) => merge(current, page.items));
          setStatus('live');
        })
        .catch((e: unknown) => {
          setError(errorMessageOf(e));
          setStatus('error');
        });
    };
    const subscription = trpc.signals.onNew.subscribe(
      {},
      {
        onStarted: () => {
          setConnected(true);
          list();
        },
        onData: (event) => setRows((current) => merge(current, [event.data])),
        onError: () => {
          setConnected(false);
          // The stream could not open at all: the list is still worth showing.
          list();
        },
        onConnectionStateChange: (state) => setConnected(state.state === 'pending'),
      },
    );
    return {
      unsubscribe: () => {
        cancelled = true;
        subscription.unsubscribe();
      },
    };
  });
  return { rows, status, error, connected };
}
