import { Show } from 'solid-js';
import { EmptyState } from '../panel.tsx';
import { SignalsTable } from './signals-table.tsx';
import { type LiveSignalFeed, useLiveSignals } from './use-live-signals.ts';

export function LiveSignals(props: {
  limit: number;
  compact?: boolean;
  feed?: LiveSignalFeed;
  selectedId?: string | undefined;
  onSelect?: (id: string) => void;
}) {
  const { rows, status, error, connected } = props.feed ?? useLiveSignals(props.limit);
  return (
    <Show
      when={status() !== 'error'}
      fallback={
        <EmptyState title="Could not load signals" tone="error">
          {error()}
        </EmptyState>
      }
    >
      <Show when={status() === 'live'} fallback={<div class="skeleton" aria-busy="true" />}>
        <Show
          when={rows().length > 0}
          fallback={
            <EmptyState title="No signals yet">
              <span class="live-dot" data-state={connected() ? 'on' : 'off'} aria-hidden="true" />
              {connected()
                ? 'Listening for new signals from the engine.'
                : 'Connecting to the signal stream…'}
            </EmptyState>
          }
        >
          <div class="scroll">
            <SignalsTable
              signals={rows()}
              compact={props.compact ?? false}
              selectedId={props.selectedId}
              {...(props.onSelect ? { onSelect: props.onSelect } : {})}
            />
          </div>
        </Show>
      </Show>
    </Show>
  );
}
