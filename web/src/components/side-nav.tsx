import { A } from '@solidjs/router';
import { For } from 'solid-js';
import { Icon } from './icons.tsx';
import { NAV_ITEMS } from './nav-items.ts';

export function SideNav() {
  return (
    <nav class="sidenav" aria-label="Console sections">
      <div class="nav-group-label">Desk</div>
      <ul class="nav-list">
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
