import { createSignal, onCleanup, onMount } from 'solid-js';
import { type RouterOutputs, trpc } from './trpc.ts';

export type HaltState = RouterOutputs['halt']['status'];

/**
 * The kill switch's live state for components other than the top bar's control (the ticket, the
 * approvals queue): one `halt.updates` stream for all of them, opened with the first user and
 * closed with the last. `undefined` while unknown (loading, or the stream dropped).
 */
const [state, setState] = createSignal<HaltState | undefined>();
let users = 0;
let subscription: { unsubscribe: () => void } | undefined;

export function useLiveHalt(): () => HaltState | undefined {
  // After hydration only: the server render opens no stream.
  onMount(() => {
    users += 1;
    if (users === 1) {
      subscription = trpc.halt.updates.subscribe(undefined, {
        onData: (s) => setState(s),
        onError: () => setState(undefined),
        onConnectionStateChange: (c) => {
          if (c.state === 'connecting' && c.error) setState(undefined);
        },
      });
    }
    onCleanup(() => {
      users -= 1;
      if (users === 0) {
        subscription?.unsubscribe();
        subscription = undefined;
        setState(undefined);
      }
    });
  });
  return state;
}

/** Engaged on this desk or globally: only risk-reducing orders pass. */
export const isHalted = (s: HaltState | undefined): boolean =>
  Boolean(s && (s.desk.engaged || s.global.engaged));
