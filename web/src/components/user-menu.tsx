import { A } from '@solidjs/router';
import { createSignal, onCleanup, onMount, Show } from 'solid-js';
import { useSession } from '../lib/session.tsx';

function initialsOf(name: string): string {
  const parts = name
    .trim()
    .split(/[\s@._-]+/)
    .filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts[1]?.[0] ?? '')).toUpperCase();
}

/** Account menu: who is signed in, on which desk with which role, password, sign out. */
export function UserMenu() {
  const session = useSession();
  const [open, setOpen] = createSignal(false);
  let root: HTMLDivElement | undefined;
  let button: HTMLButtonElement | undefined;

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button?.focus();
  };

  onMount(() => {
    const onPointer = (e: PointerEvent) => {
      if (open() && root && !root.contains(e.target as Node)) close(false);
    };
    // WAI-ARIA menu pattern: Escape closes and returns focus, arrows move between items.
    const onKey = (e: KeyboardEvent) => {
      if (!open()) return;
      if (e.key === 'Escape') {
        close(true);
        return;
      }
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
      const items = [...(root?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
      if (items.length === 0) return;
      e.preventDefault();
      const at = items.indexOf(document.activeElement as HTMLElement);
      const next = e.key === 'ArrowDown' ? (at + 1) % items.length : (at - 1 + items.length) % items.length;
      items[next]?.focus();
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    onCleanup(() => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    });
  });

  const name = () => session.me()?.user.displayName || session.me()?.user.email || '';

  return (
    <div class="user-menu" ref={root}>
      <button
        ref={button}
        type="button"
        class="user-button"
        aria-haspopup="menu"
        aria-expanded={open()}
        aria-controls="user-menu"
        onClick={() => setOpen(!open())}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' && !open()) {
            e.preventDefault();
            setOpen(true);
            root?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
          }
        }}
      >
        <span class="avatar" aria-hidden="true">
          {name() ? initialsOf(name()) : ''}
        </span>
        <span class="user-name">{name() || '\u00a0'}</span>
        <span class="visually-hidden">Account menu</span>
      </button>
      <Show when={open()}>
        <div class="menu" id="user-menu" role="menu" aria-label="Account">
          <div class="menu-header">
            <div>{session.me()?.user.email}</div>
            <div class="dim" style={{ 'font-size': '11px' }}>
              {session.me()?.activeDesk
                ? `${session.me()?.activeDesk?.name} · ${session.me()?.activeDesk?.role}`
                : 'No active desk'}
              {session.me()?.user.isPlatformAdmin ? ' · platform admin' : ''}
            </div>
          </div>
          <A href="/settings" class="menu-item" role="menuitem" onClick={() => close(false)}>
            Settings
          </A>
          <A href="/change-password" class="menu-item" role="menuitem" onClick={() => close(false)}>
            Change password
          </A>
          <button type="button" class="menu-item" role="menuitem" onClick={() => void session.logout()}>
            Sign out
          </button>
        </div>
      </Show>
    </div>
  );
}
