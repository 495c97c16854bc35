import type {
  RecommendationEvent,
  RecommendationLayer,
  RecommendationView,
} from '@aegis/shared/schemas/option-recommendation';
import { type Accessor, createSignal, onCleanup } from 'solid-js';
import { errorMessageOf, type RouterInputs, trpc } from './trpc.ts';

export type RecommendInput = RouterInputs['options']['recommend'];
export type { RecommendationLayer };
export type RecommendationResult = Extract<RecommendationEvent, { type: 'result' }>;
export type Recommendation = RecommendationView;

export type RecommendationStatus = 'idle' | 'streaming' | 'done' | 'error';

export interface RecommendationStream {
  readonly status: Accessor<RecommendationStatus>;
  /** Layers in the order the server computed them. */
  readonly layers: Accessor<readonly RecommendationLayer[]>;
  readonly result: Accessor<RecommendationResult | undefined>;
  readonly error: Accessor<string | undefined>;
  /** The input of the current (or last) request. */
  readonly input: Accessor<RecommendInput | undefined>;
  start(input: RecommendInput): void;
  stop(): void;
}

/**
 * One recommendation at a time over `options.recommend` (SSE): each layer is appended as it
 * arrives, then the result ends the stream. A new request replaces the one in flight; the
 * stream is closed as soon as the result is in (the server has nothing more to say), so the
 * link does not reconnect and ask again.
 */
export function createRecommendationStream(): RecommendationStream {
  const [status, setStatus] = createSignal<RecommendationStatus>('idle');
  const [layers, setLayers] = createSignal<readonly RecommendationLayer[]>([]);
  const [result, setResult] = createSignal<RecommendationResult>();
  const [error, setError] = createSignal<string>();
  const [input, setInput] = createSignal<RecommendInput>();
  // The request in flight; callbacks of an older one (replaced or stopped) are ignored. A token
  // of our own: the link may call back before `subscribe` has returned its handle.
  let current: { unsubscribe: () => void } | undefined;

  const stop = () => {
    current?.unsubscribe();
    current = undefined;
  };

  const start = (next: RecommendInput) => {
    stop();
    setInput(next);
    setLayers([]);
    setResult(undefined);
    setError(undefined);
    setStatus('streaming');
    let handle: { unsubscribe: () => void } | undefined;
    let closed = false;
    const mine = {
      unsubscribe: () => {
        closed = true;
        handle?.unsubscribe();
      },
    };
    current = mine;
    handle = trpc.options.recommend.subscribe(next, {
      onData: (event) => {
        if (current !== mine) return;
        if (event.type === 'layer') setLayers((l) => [...l, event.layer]);
        else {
          setResult(event);
          setStatus('done');
          stop();
        }
      },
      onError: (e) => {
        if (current !== mine) return;
        setError(errorMessageOf(e));
        setStatus('error');
        stop();
      },
      onComplete: () => {
        if (current !== mine) return;
        current = undefined;
        if (status() === 'streaming') {
          setError('The server ended the recommendation without a result.');
          setStatus('error');
        }
      },
      onConnectionStateChange: (c) => {
        // A connection failure before the first event: report it instead of retrying forever.
        if (current === mine && c.state === 'connecting' && c.error && layers().length === 0) {
          setError(errorMessageOf(c.error));
          setStatus('error');
          stop();
        }
      },
    });
    // Stopped while subscribing (a result or error during the call): close the stream now.
    if (closed) handle.unsubscribe();
  };

  onCleanup(stop);
  return { status, layers, result, error, input, start, stop };
}
