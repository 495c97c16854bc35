import { createSignal, onCleanup, onMount } from 'solid-js';
import { errorMessageOf, type RouterOutputs, trpc } from './trpc.ts';

export type HaltState = RouterOutputs['halt']['status'];
export type HaltView =
  | { kind: 'loading' }
  | { kind: 'known'; state: HaltState }
  | { kind: 'unknown'; why: string };

/**
 * The halt's live state for the whole console: ONE `halt.updates` stream (the current state
 * first, then every change from any process) shared by the top bar's control, the order ticket
 * and the approvals queue; opened with the first user and closed with the last. A browser holds
 * six connections per host and every live stream keeps one, so components share streams.
 */
const [view, setView] = createSignal<HaltView>({ kind: 'loading' });
let users = 0;
let subscription: { unsubscribe: () => void } | undefined;

/** The shared view (call from a component: opens the stream after hydration, closes with it). */
export function useLiveHalt(): {
  view: () => HaltView;
  state: () => HaltState | undefined;
  /** A mutation's answer is the newest state: shown at once, before the stream repeats it. */
  set: (state: HaltState) => void;
} {
  onMount(() => {
    users += 1;
    if (users === 1) {
      subscription = trpc.halt.updates.subscribe(undefined, {
        onData: (state) => setView({ kind: 'known', state }),
        onError: (e) => setView({ kind: 'unknown', why: errorMessageOf(e) }),
        // A dropped stream means the last state may be stale: say so until the link reconnects
        // (the server then sends the current state first).
        onConnectionStateChange: (c) => {
          if (c.state === 'connecting' && c.error) {
            setView({ kind: 'unknown', why: 'Connection to the server lost; reconnecting' });
          }
        },
      });
    }
    onCleanup(() => {
      users -= 1;
      if (users === 0) {
        subscription?.unsubscribe();
        subscription = undefined;
        setView({ kind: 'loading' });
      }
    });
  });
  return {
    view,
    state: () => {
      const v = view();
      return v.kind === 'known' ? v.state : undefined;
    },
    set: (state) => setView({ kind: 'known', state }),
  };
}

/** Engaged on this desk or globally: only risk-reducing orders pass. */
export const isHalted = (s: HaltState | undefined): boolean =>
  Boolean(s && (s.desk.engaged || s.global.engaged));
