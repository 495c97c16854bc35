import { For, Show } from 'solid-js';
import type { RouterOutputs } from '../../lib/trpc.ts';

export type AlertEvent = RouterOutputs['alerts']['list']['events'][number];

const SEVERITY_TAG: Record<AlertEvent['severity'], string> = {
  info: 'tag',
  warning: 'tag tag-warn',
  critical: 'tag tag-bad',
};

/** `2026-12-04 22:10:03 UTC` from an ISO instant. */
export const utcTime = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

/** A list of desk notifications with a per-item "Mark read" (used by the bell and /alerts). */
export function AlertItems(props: {
  events: readonly AlertEvent[];
  onMarkRead: (id: number) => void;
  compact?: boolean;
}) {
  return (
    <ul class={`alert-items ${props.compact ? 'alert-items-compact' : ''}`}>
      <For each={props.events}>
        {(e) => (
          <li
            class="alert-item"
            data-read={e.read ? 'true' : 'false'}
            data-kind={e.kind}
            data-testid="alert-item"
          >
            <span class="alert-dot" aria-hidden="true" data-severity={e.severity} />
            <div class="alert-text">
              <div class="alert-title">
                <strong>{e.title}</strong>
                <span class={SEVERITY_TAG[e.severity]}>{e.severity}</span>
                <Show when={!e.read}>
                  <span class="visually-hidden">(unread)</span>
                </Show>
              </div>
              <div class="alert-body">{e.body}</div>
              <time class="alert-time dim mono" datetime={e.createdAt}>
                {utcTime(e.createdAt)}
              </time>
            </div>
            <Show when={!e.read}>
              <button
                type="button"
                class="btn btn-ghost btn-sm"
                aria-label={`Mark "${e.title}" read`}
                onClick={() => props.onMarkRead(e.id)}
              >
                Mark read
              </button>
            </Show>
          </li>
        )}
      </For>
    </ul>
  );
}
