import { onCleanup, onMount } from 'solid-js';

/**
 * Starts a tRPC subscription (SSE through the /trpc proxy) after hydration and ends it with
 * the component. `start` receives the handlers and returns tRPC's unsubscribable; the link
 * reconnects by itself and resumes tracked streams from the last event id.
 */
export function useSubscription(start: () => { unsubscribe: () => void }): void {
  onMount(() => {
    const subscription = start();
    onCleanup(() => subscription.unsubscribe());
  });
}
