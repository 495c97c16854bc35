import { A, useNavigate } from '@solidjs/router';
import { createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import { useSession } from '../lib/session.tsx';
import { ModeBadge } from './agent-settings-panel.tsx';
import { HaltControl } from './halt-control.tsx';
import { BrandMark } from './icons.tsx';
import { BarSelect } from './input-field.tsx';
import { AlertBell } from './notifications/alert-bell.tsx';
import { SymbolSearch } from './symbol-search.tsx';
import { UserMenu } from './user-menu.tsx';
import { instrumentHref } from './watchlist-panel.tsx';

function UtcClock() {
  // Rendered empty on the server and filled after hydration (the server's "now" would differ).
  const [now, setNow] = createSignal<string>('--:--:--');
  onMount(() => {
    const tick = () => setNow(new Date().toISOString().slice(11, 19));
    tick();
    const timer = setInterval(tick, 1000);
    onCleanup(() => clearInterval(timer));
  });
  return (
    <span class="clock">
      <span class="visually-hidden">Time now, </span>
      {now()} UTC
    </span>
  );
}

function DeskSwitcher() {
  const session = useSession();
  const desks = () => session.me()?.desks ?? [];
  const active = () => session.me()?.activeDesk ?? null;
  return (
    <div class="desk-switcher">
      <BarSelect
        label="Desk"
        labelClass="desk-label"
        id="desk-switcher"
        class="select"
        disabled={desks().length < 2}
        onChange={(e) => void session.switchDesk(e.currentTarget.value)}
      >
        <Show when={desks().length > 0} fallback={<option value="">{session.me() ? 'No desk' : '—'}</option>}>
          <For each={desks()}>
            {(desk) => (
              <option value={desk.id} selected={desk.id === active()?.id}>
                {desk.name}
              </option>
            )}
          </For>
        </Show>
      </BarSelect>
      <Show when={active()}>
        {(desk) => (
          <>
            <span class="role-badge" title="Your role on this desk">
              {desk().role}
            </span>
            <ModeBadge />
          </>
        )}
      </Show>
    </div>
  );
}

/** `/` from anywhere: find an instrument and open its page (an unknown one shows suggestions). */
function TopBarSearch() {
  const session = useSession();
  const navigate = useNavigate();
  const open = (symbol: string) => navigate(instrumentHref(symbol));
  return (
    <Show when={session.me()?.activeDesk}>
      <SymbolSearch
        label="Search instruments"
        placeholder="Symbol, name or venue"
        globalSlash
        class="topbar-search"
        onPick={open}
        onUnmatched={open}
      />
    </Show>
  );
}

/**
 * One row on a desktop. On a phone (app.css, ≤ 760 px) two: the brand mark, desk, search and
 * the account group (alerts, user menu) on the first, the halt's state and controls on the
 * second; the desk role (also in the account menu) and a routine agent mode (on Settings) give
 * way there, an autonomous one stays.
 */
export function TopBar() {
  const session = useSession();
  return (
    <header class="topbar">
      <div class="topbar-section">
        <A href="/" class="brand" aria-label="Aegis overview">
          <BrandMark />
          <span class="brand-name">AEGIS</span>
        </A>
        <span class="topbar-divider" aria-hidden="true" />
        <DeskSwitcher />
        <span class="topbar-divider" aria-hidden="true" />
        <TopBarSearch />
      </div>
      <div class="topbar-spacer" />
      <div class="topbar-section">
        <div class="topbar-halt">
          <HaltControl />
        </div>
        <span class="topbar-divider" aria-hidden="true" />
        <UtcClock />
        <div class="topbar-account">
          <Show when={session.me()?.activeDesk}>
            <AlertBell />
          </Show>
          <UserMenu />
        </div>
      </div>
    </header>
  );
}
