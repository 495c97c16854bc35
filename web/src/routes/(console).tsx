import type { RouteSectionProps } from '@solidjs/router';
import { Match, Switch } from 'solid-js';
import { EmptyState } from '../components/panel.tsx';
import { KeyboardShortcuts } from '../components/shortcuts.tsx';
import { SideNav } from '../components/side-nav.tsx';
import { TopBar } from '../components/top-bar.tsx';
import { failureOf } from '../lib/query.ts';
import { SessionProvider, useSession } from '../lib/session.tsx';

/**
 * The console's frame: top bar, left nav, main area. Rendered by the server with empty slots
 * (fixed sizes, so nothing moves), then filled in the browser once `auth.me` answers. Pages
 * render only with a valid session, so they never fire a request that is bound to fail.
 */
export default function ConsoleLayout(props: RouteSectionProps) {
  return (
    <SessionProvider>
      <ConsoleFrame>{props.children}</ConsoleFrame>
    </SessionProvider>
  );
}

function ConsoleFrame(props: { children: RouteSectionProps['children'] }) {
  const session = useSession();
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <TopBar />
      <SideNav />
      <main class="main" id="main" tabindex="-1">
        <Switch>
          <Match when={session.state().status === 'ready' && !session.me()?.user.mustChangePassword}>
            {props.children}
          </Match>
          <Match
            when={failureOf(session.state())?.code !== 'UNAUTHORIZED' && failureOf(session.state())}
            keyed
          >
            {(failure) => (
              <EmptyState title="The console cannot load your session" tone="error">
                {failure.message}
              </EmptyState>
            )}
          </Match>
          <Match when={true}>
            <div class="page-header" aria-busy="true">
              <span class="visually-hidden">Loading session</span>
            </div>
          </Match>
        </Switch>
      </main>
      <KeyboardShortcuts />
    </div>
  );
}
