import { Show } from 'solid-js';
import { formatDecimal, utcTime } from '../../lib/decimal-format.ts';
import { formatExposure } from '../../lib/option-format.ts';
import { createQuery } from '../../lib/query.ts';
import { trpc } from '../../lib/trpc.ts';

/**
 * One line on the delta-neutral hedger beside the desk's Greeks: whether it watches this desk,
 * in which mode, how many underlyings, and what it did last (hedging.settings, hedging.actions).
 * Settings are changed by desk admins elsewhere; this is the trader's glance.
 */
export function HedgerStatus() {
  const settings = createQuery(() => trpc.hedging.settings.query({}), { pollMs: 15_000 });
  const actions = createQuery(() => trpc.hedging.actions.query({ limit: 1 }), { pollMs: 5_000 });
  const s = () => {
    const st = settings.state();
    return st.status === 'ready' ? st.data : undefined;
  };
  const last = () => {
    const st = actions.state();
    return st.status === 'ready' ? st.data[0] : undefined;
  };
  return (
    <p class="hedger-status" data-enabled={s() ? String(s()!.enabled) : ''}>
      <span class="dim">Hedger:</span>{' '}
      <Show when={s()} fallback={<span class="dim">—</span>}>
        {(h) => (
          <>
            <span class={`tag ${h().enabled ? 'tag-ok' : ''}`}>{h().enabled ? 'on' : 'off'}</span>{' '}
            <span>
              {h().mode}
              {h().mode === 'autonomous' && !h().autonomousAllowed ? ' (not allowed: proposes only)' : ''}
            </span>
            <span class="dim">
              {' '}
              · {h().targets.length} underlying{h().targets.length === 1 ? '' : 's'}
            </span>
          </>
        )}
      </Show>
      <Show when={last()}>
        {(a) => (
          <span class="dim" title={a().reason}>
            {' '}
            · last {utcTime(a().at).slice(11)} UTC: {a().action.replaceAll('_', ' ')}
            {a().side ? ` ${a().side} ${formatDecimal(a().quantity, 0)} ${a().hedgeSymbol}` : ''} (net Δ{' '}
            {formatExposure(a().netDeltaBefore)}, band ±{formatDecimal(a().band, 0)})
          </span>
        )}
      </Show>
    </p>
  );
}
