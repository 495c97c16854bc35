import { createSignal, For, Show } from 'solid-js';
import type { RouterOutputs } from '../lib/trpc.ts';
import type { LinkRequest } from './broker-link-dialog.tsx';
import { BarSelect } from './input-field.tsx';

type Provider = RouterOutputs['brokers']['providers'][number];

/** The link buttons a provider offers, one per way it can be linked, in a fixed order. */
function linkOptions(p: Provider): { kind: LinkRequest['kind']; label: string }[] {
  const options: { kind: LinkRequest['kind']; label: string }[] = [];
  if (p.linkKinds.includes('oauth') || p.linkKinds.includes('client_credentials'))
    options.push({ kind: 'oauth', label: 'Link with OAuth' });
  if (p.linkKinds.includes('api_key')) options.push({ kind: 'api_key', label: 'Link with API key' });
  if (p.linkKinds.includes('gateway')) options.push({ kind: 'gateway', label: 'Link gateway' });
  return options;
}

const KIND_TAG: Record<Provider['linkKinds'][number], string> = {
  oauth: 'OAuth',
  client_credentials: 'OAuth (client)',
  api_key: 'API key',
  gateway: 'Gateway',
};

/**
 * The provider catalogue (brokers.providers): what this server can link, how, and in which
 * environments. A provider listed for information only (Robinhood: no trading API) says why; one
 * this server is not configured for says so instead of offering a button that would fail.
 */
export function BrokerProviders(props: {
  providers: readonly Provider[];
  canManage: boolean;
  onLink: (request: LinkRequest) => void;
}) {
  // CCXT brings a hundred venues: one card with a venue picker instead of a hundred cards.
  // Providers listed for information only (Robinhood) go last.
  const brokers = () => props.providers.filter((p) => !p.id.startsWith('ccxt:') && p.tradingSupported);
  const venues = () => props.providers.filter((p) => p.id.startsWith('ccxt:') && p.tradingSupported);
  const unsupported = () => props.providers.filter((p) => !p.tradingSupported);
  return (
    <ul class="provider-grid" aria-label="Broker providers">
      <For each={brokers()}>
        {(p) => <ProviderCard provider={p} canManage={props.canManage} onLink={props.onLink} />}
      </For>
      <Show when={venues().length > 0}>
        <CcxtVenues venues={venues()} canManage={props.canManage} onLink={props.onLink} />
      </Show>
      <For each={unsupported()}>
        {(p) => <ProviderCard provider={p} canManage={props.canManage} onLink={props.onLink} />}
      </For>
    </ul>
  );
}

function ProviderCard(props: {
  provider: Provider;
  canManage: boolean;
  onLink: (request: LinkRequest) => void;
}) {
  const p = props.provider;
  return (
    <li class="provider-card" aria-label={p.name} data-unsupported={p.tradingSupported ? undefined : ''}>
      <div class="provider-head">
        <span class="provider-name">{p.name}</span>
        <span class="mono dim provider-id">{p.id}</span>
      </div>
      <div class="provider-tags">
        <Show when={p.tradingSupported} fallback={<span class="tag tag-bad">unsupported</span>}>
          <For each={p.linkKinds}>{(k) => <span class="tag">{KIND_TAG[k]}</span>}</For>
          <For each={p.environments}>
            {(env) => <span class={`tag ${env === 'live' ? 'tag-live' : 'tag-paper'}`}>{env}</span>}
          </For>
          <Show when={p.nativeBrackets}>
            <span class="tag" title="Stop and target are placed with the entry at the broker">
              brackets
            </span>
          </Show>
        </Show>
      </div>
      <p class="provider-note">
        {p.note ?? (p.tradingSupported ? 'Orders route to this broker once linked.' : '')}
      </p>
      <div class="provider-actions">
        <Show when={p.tradingSupported}>
          <Show when={p.configured} fallback={<span class="field-hint">Not configured on this server</span>}>
            <Show when={props.canManage} fallback={<span class="field-hint">Desk admins link accounts</span>}>
              <For each={linkOptions(p)}>
                {(o, i) => (
                  <button
                    type="button"
                    class={`btn btn-sm ${i() === 0 ? 'btn-primary' : ''}`}
                    aria-label={`${o.label}: ${p.name}`}
                    onClick={() => props.onLink({ provider: p, kind: o.kind })}
                  >
                    {o.label}
                  </button>
                )}
              </For>
            </Show>
          </Show>
        </Show>
      </div>
    </li>
  );
}

/** Crypto venues through CCXT (`ccxt:<exchange>`, API keys): pick a venue, then link it. */
function CcxtVenues(props: {
  venues: readonly Provider[];
  canManage: boolean;
  onLink: (request: LinkRequest) => void;
}) {
  const [chosen, setChosen] = createSignal<string>();
  const venue = () => props.venues.find((v) => v.id === chosen()) ?? props.venues[0]!;
  return (
    <li class="provider-card" aria-label="Crypto venues (CCXT)">
      <div class="provider-head">
        <span class="provider-name">Crypto venues</span>
        <span class="mono dim provider-id">ccxt:*</span>
      </div>
      <div class="provider-tags">
        <span class="tag">API key</span>
        <span class="tag">{props.venues.length} venues via CCXT</span>
      </div>
      <div class="field">
        <BarSelect
          label="Venue"
          id="ccxt-venue"
          class="select"
          value={venue().id}
          onChange={(e) => setChosen(e.currentTarget.value)}
        >
          <For each={props.venues}>
            {(v) => (
              <option value={v.id}>
                {v.name}
                {v.environments.includes('paper') ? ' · testnet' : ''}
              </option>
            )}
          </For>
        </BarSelect>
      </div>
      <p class="provider-note">{venue().note ?? 'Spot, through CCXT.'}</p>
      <div class="provider-actions">
        <Show
          when={venue().configured}
          fallback={<span class="field-hint">Not configured on this server</span>}
        >
          <Show when={props.canManage} fallback={<span class="field-hint">Desk admins link accounts</span>}>
            <button
              type="button"
              class="btn btn-sm btn-primary"
              aria-label={`Link with API key: ${venue().name}`}
              onClick={() => props.onLink({ provider: venue(), kind: 'api_key' })}
            >
              Link {venue().name}
            </button>
          </Show>
        </Show>
      </div>
    </li>
  );
}
