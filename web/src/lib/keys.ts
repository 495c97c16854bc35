import { onCleanup, onMount } from 'solid-js';

/** True when a key press belongs to a form field (typing), not to the page's shortcuts. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/**
 * Single-key shortcuts of one page (mounted with it). A press is ignored while typing in a
 * field, with a modifier, while a modal dialog is open, and when it is the second key of the
 * console's `g <key>` navigation (`g a` opens Audit, it must not also accept a signal).
 * `handle` returns true when it used the key.
 */
export function usePageKeys(handle: (event: KeyboardEvent) => boolean): void {
  onMount(() => {
    let afterG = 0;
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target))
        return;
      if (event.key === 'g') {
        afterG = event.timeStamp;
        return;
      }
      if (afterG && event.timeStamp - afterG < 1200) {
        afterG = 0;
        return;
      }
      afterG = 0;
      if (document.querySelector('dialog[open]')) return;
      if (handle(event)) event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    onCleanup(() => window.removeEventListener('keydown', onKey));
  });
}
