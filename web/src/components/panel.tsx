import { type JSX, Match, Show, Switch } from 'solid-js';
import type { Query } from '../lib/query.ts';

/**
 * A dashboard panel. `bodyClass` fixes the body's height (h-chart, h-list …) so the panel has
 * the same size while loading, empty, failed or full: no layout shift when data arrives.
 */
export function Panel(props: {
  title: string;
  meta?: JSX.Element;
  bodyClass?: string;
  flush?: boolean;
  children: JSX.Element;
  id?: string;
}) {
  const headingId = () => `${props.id ?? props.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-title`;
  return (
    <section class="panel" aria-labelledby={headingId()}>
      <header class="panel-head">
        <h2 class="panel-title" id={headingId()}>
          {props.title}
        </h2>
        <Show when={props.meta}>
          <span class="panel-meta">{props.meta}</span>
        </Show>
      </header>
      <div class={`panel-body ${props.flush ? 'flush' : ''} ${props.bodyClass ?? ''}`}>{props.children}</div>
    </section>
  );
}

export function EmptyState(props: { title: string; children?: JSX.Element; tone?: 'neutral' | 'error' }) {
  return (
    <div
      class="empty"
      data-tone={props.tone ?? 'neutral'}
      role={props.tone === 'error' ? 'alert' : undefined}
    >
      <span class="empty-title">{props.title}</span>
      <Show when={props.children}>
        <span class="empty-text">{props.children}</span>
      </Show>
    </div>
  );
}

/** Renders a query's loading / error / data states inside a fixed-size panel body. */
export function QueryView<T>(props: {
  query: Query<T>;
  children: (data: T) => JSX.Element;
  errorTitle?: string;
}) {
  return (
    <Switch>
      <Match when={props.query.state().status === 'loading'}>
        <div class="skeleton" role="status" aria-busy="true">
          <span class="visually-hidden">Loading</span>
        </div>
      </Match>
      <Match when={props.query.state().status === 'error' && props.query.state()} keyed>
        {(s) => (
          <EmptyState title={props.errorTitle ?? 'Could not load'} tone="error">
            {s.status === 'error' ? s.message : ''}
          </EmptyState>
        )}
      </Match>
      <Match when={props.query.state().status === 'ready' && props.query.state()} keyed>
        {(s) => (s.status === 'ready' ? props.children(s.data) : null)}
      </Match>
    </Switch>
  );
}
