import { createSignal, createUniqueId, For, onCleanup, onMount, Show } from 'solid-js';
import { isTyping } from '../lib/keys.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../lib/trpc.ts';
import '../market.css';

type Hit = RouterOutputs['instruments']['search'][number];

/**
 * Instrument search as an ARIA 1.2 combobox (input + listbox): `instruments.search` as one
 * types (debounced), ↑/↓ move through the hits, Enter picks the active one (or the exact match),
 * Escape closes. When nothing matches as a prefix, the fuzzy hits are offered as
 * "did you mean …". `globalSlash` makes `/` focus it from anywhere on the page (not while typing
 * in another field).
 */
export function SymbolSearch(props: {
  onPick: (symbol: string) => void;
  /** Enter with no hit: what to do with the text typed (the top bar opens its page anyway). */
  onUnmatched?: (text: string) => void;
  label: string;
  placeholder?: string;
  globalSlash?: boolean;
  class?: string;
  /** Clears the text after a pick (adding to a list) rather than keeping it. */
  clearOnPick?: boolean;
}) {
  const id = createUniqueId();
  const listId = `symbol-search-list-${id}`;
  const [text, setText] = createSignal('');
  const [hits, setHits] = createSignal<readonly Hit[]>([]);
  const [open, setOpen] = createSignal(false);
  const [active, setActive] = createSignal(-1);
  const [searching, setSearching] = createSignal(false);
  const [error, setError] = createSignal<string>();
  let input: HTMLInputElement | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;

  const fuzzyOnly = () => hits().length > 0 && hits().every((h) => h.match === 'fuzzy');

  const search = (query: string) => {
    clearTimeout(timer);
    const mine = ++generation;
    if (query.trim() === '') {
      setHits([]);
      setSearching(false);
      return;
    }
    setSearching(true);
    timer = setTimeout(async () => {
      try {
        const found = await trpc.instruments.search.query({ query: query.trim(), limit: 10 });
        if (mine !== generation) return;
        setHits(found);
        setActive(found.length > 0 && found[0]!.match !== 'fuzzy' ? 0 : -1);
        setError(undefined);
      } catch (e) {
        if (mine === generation) setError(errorMessageOf(e));
      } finally {
        if (mine === generation) setSearching(false);
      }
    }, 150);
  };
  onCleanup(() => clearTimeout(timer));

  const pick = (symbol: string) => {
    setOpen(false);
    setActive(-1);
    if (props.clearOnPick) {
      setText('');
      setHits([]);
      if (input) input.value = '';
    } else {
      setText(symbol);
      if (input) input.value = symbol;
    }
    props.onPick(symbol);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const list = hits();
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      if (list.length > 0) setActive((a) => (a + 1) % list.length);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setOpen(true);
      if (list.length > 0) setActive((a) => (a <= 0 ? list.length - 1 : a - 1));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const chosen = list[active()];
      const typed = text().trim().toUpperCase();
      const exact = list.find((h) => h.symbol.toUpperCase() === typed);
      if (chosen && open()) pick(chosen.symbol);
      else if (exact) pick(exact.symbol);
      else if (typed !== '' && !searching()) {
        setOpen(false);
        props.onUnmatched?.(typed);
      }
    } else if (e.key === 'Escape') {
      if (open()) {
        e.preventDefault();
        setOpen(false);
      } else {
        input?.blur();
      }
    }
  };

  onMount(() => {
    if (!props.globalSlash) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || isTyping(e.target))
        return;
      if (document.querySelector('dialog[open]')) return;
      e.preventDefault();
      input?.focus();
      input?.select();
    };
    window.addEventListener('keydown', onKey);
    onCleanup(() => window.removeEventListener('keydown', onKey));
  });

  const optionId = (i: number) => `${listId}-opt-${i}`;
  const showList = () => open() && text().trim() !== '';
  return (
    <div class={`symbol-search ${props.class ?? ''}`}>
      <label class="visually-hidden" for={`symbol-search-${id}`}>
        {props.label}
      </label>
      <input
        ref={input}
        id={`symbol-search-${id}`}
        class="symbol-search-input"
        type="text"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={showList()}
        aria-controls={listId}
        aria-activedescendant={showList() && active() >= 0 ? optionId(active()) : undefined}
        aria-keyshortcuts={props.globalSlash ? '/' : undefined}
        autocomplete="off"
        spellcheck={false}
        maxLength={64}
        placeholder={props.placeholder ?? 'Search symbol'}
        onInput={(e) => {
          setText(e.currentTarget.value);
          setOpen(true);
          search(e.currentTarget.value);
        }}
        onFocus={() => {
          if (text().trim() !== '') setOpen(true);
        }}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={onKeyDown}
      />
      <Show when={props.globalSlash}>
        <span class="symbol-search-kbd" aria-hidden="true">
          <kbd>/</kbd>
        </span>
      </Show>
      <div class="symbol-search-pop" hidden={!showList()}>
        <Show when={fuzzyOnly()}>
          <div class="symbol-search-note" id={`${listId}-note`}>
            No match for <b class="mono">{text().trim().toUpperCase()}</b> — did you mean:
          </div>
        </Show>
        <div id={listId} role="listbox" aria-label={`${props.label}: results`} class="symbol-search-list">
          <For each={hits()}>
            {(hit, i) => (
              <div
                id={optionId(i())}
                role="option"
                tabIndex={-1}
                aria-selected={active() === i()}
                class="symbol-search-option"
                data-symbol={hit.symbol}
                // mousedown, not click: the input's blur would close the list first.
                onMouseDown={(e) => {
                  e.preventDefault();
                  pick(hit.symbol);
                }}
                onMouseEnter={() => setActive(i())}
              >
                <span class="mono symbol-search-symbol">{hit.symbol}</span>
                <span class="symbol-search-name">{hit.name ?? hit.venueSymbol}</span>
                <span class="symbol-search-venue">{hit.venue}</span>
                <span class="tag">{hit.assetClass}</span>
              </div>
            )}
          </For>
        </div>
        <Show when={!searching() && hits().length === 0 && !error()}>
          <div class="symbol-search-note" role="status">
            No match for <b class="mono">{text().trim().toUpperCase()}</b>
          </div>
        </Show>
        <Show when={searching() && hits().length === 0}>
          <div class="symbol-search-note" role="status">
            Searching…
          </div>
        </Show>
        <Show when={error()}>
          <div class="symbol-search-note neg" role="status">
            {error()}
          </div>
        </Show>
      </div>
    </div>
  );
}
