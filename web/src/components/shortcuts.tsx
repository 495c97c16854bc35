import { useNavigate } from '@solidjs/router';
import { For, onCleanup, onMount } from 'solid-js';
import { isTyping } from '../lib/keys.ts';
import { NAV_ITEMS } from './nav-items.ts';

/**
 * Console-wide keyboard navigation: `g` then a section key (vim/GitHub style), `?` for help.
 * Ignored while typing in a field, and never bound to anything that trades. Pages add their own
 * single keys (lib/keys.ts), listed here too.
 */
export function KeyboardShortcuts() {
  const navigate = useNavigate();
  let dialog: HTMLDialogElement | undefined;
  let pendingG = false;
  let gTimer: ReturnType<typeof setTimeout> | undefined;

  onMount(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target))
        return;
      if (event.key === '?') {
        event.preventDefault();
        if (dialog?.open) dialog.close();
        else dialog?.showModal();
        return;
      }
      if (pendingG) {
        pendingG = false;
        clearTimeout(gTimer);
        const item = NAV_ITEMS.find((i) => i.key === event.key);
        if (item) {
          event.preventDefault();
          navigate(item.href);
          document.getElementById('main')?.focus({ preventScroll: true });
        }
        return;
      }
      if (event.key === 'g') {
        pendingG = true;
        gTimer = setTimeout(() => {
          pendingG = false;
        }, 1200);
      }
    };
    window.addEventListener('keydown', onKey);
    onCleanup(() => {
      window.removeEventListener('keydown', onKey);
      clearTimeout(gTimer);
    });
  });

  return (
    <dialog class="dialog" ref={dialog} aria-labelledby="shortcuts-title">
      <div class="dialog-head">
        <h2 id="shortcuts-title">Keyboard shortcuts</h2>
        <button type="button" class="btn btn-ghost" onClick={() => dialog?.close()}>
          Close <kbd>Esc</kbd>
        </button>
      </div>
      <div class="dialog-body">
        <dl class="shortcut-list">
          <For each={NAV_ITEMS}>
            {(item) => (
              <>
                <dt>Go to {item.label}</dt>
                <dd>
                  <kbd>g</kbd>
                  <kbd>{item.key}</kbd>
                </dd>
              </>
            )}
          </For>
          <dt>Signals: next / previous signal</dt>
          <dd>
            <kbd>↓</kbd>
            <kbd>↑</kbd>
          </dd>
          <dt>Signals: accept / reject the selected signal</dt>
          <dd>
            <kbd>a</kbd>
            <kbd>r</kbd>
          </dd>
          <dt>Signals: write a note on it</dt>
          <dd>
            <kbd>n</kbd>
          </dd>
          <dt>Show this help</dt>
          <dd>
            <kbd>?</kbd>
          </dd>
        </dl>
      </div>
    </dialog>
  );
}
