import { A, useLocation } from '@solidjs/router';
import { createEffect, createSignal, For, on } from 'solid-js';
import { Icon } from './icons.tsx';
import { NAV_ITEMS } from './nav-items.ts';

/**
 * The console's sections. On a wide screen a column on the left; on a phone (≤ 760 px) a bar
 * under the top bar naming the current section, whose Menu button opens the list (closed again
 * when a section is chosen).
 */
export function SideNav() {
  const location = useLocation();
  const [open, setOpen] = createSignal(false);
  const current = () =>
    NAV_ITEMS.find((item) =>
      item.href === '/' ? location.pathname === '/' : location.pathname.startsWith(item.href),
    )?.label ?? 'Sections';
  createEffect(
    on(
      () => location.pathname,
      () => setOpen(false),
      { defer: true },
    ),
  );
  return (
    <nav class="sidenav" aria-label="Console sections" data-open={open() ? 'true' : 'false'}>
      <button
        type="button"
        class="nav-menu-toggle"
        aria-expanded={open() ? 'true' : 'false'}
        aria-controls="console-sections"
        onClick={() => setOpen(!open())}
      >
        <span class="nav-menu-icon" aria-hidden="true">
          {open() ? '✕' : '☰'}
        </span>
        <span>Menu</span>
        <span class="nav-menu-current" aria-hidden="true">
          {current()}
        </span>
      </button>
      <div class="nav-group-label">Desk</div>
      <ul class="nav-list" id="console-sections">
        <For each={NAV_ITEMS}>
          {(item) => (
            <li>
              <A
                href={item.href}
                end={item.href === '/'}
                class="nav-link"
                activeClass=""
                inactiveClass=""
                aria-keyshortcuts={`g ${item.key}`}
              >
                <Icon name={item.icon} />
                <span>{item.label}</span>
                <span class="nav-key" aria-hidden="true">
                  <kbd>g</kbd> <kbd>{item.key}</kbd>
                </span>
              </A>
            </li>
          )}
        </For>
      </ul>
      <div class="nav-foot">
        Press <kbd>?</kbd> for shortcuts
      </div>
    </nav>
  );
}
