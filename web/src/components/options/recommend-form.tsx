import type {
  DirectionalView,
  PresetTargetsView,
  RecommendStrategy,
  RiskPreset,
} from '@aegis/shared/schemas/option-recommendation';
import { createEffect, createSignal, For, on, Show } from 'solid-js';
import { formatPercent } from '../../lib/metric-format.ts';
import type { RecommendInput } from '../../lib/option-recommendation.ts';
import type { QueryState } from '../../lib/query.ts';
import { ErrorAlert } from '../error-alert.tsx';
import { InputField, SelectField } from '../input-field.tsx';

export const PRESETS: readonly RiskPreset[] = ['conservative', 'balanced', 'aggressive'];
const VIEWS: readonly DirectionalView[] = ['bullish', 'neutral', 'bearish'];
const STRATEGIES: readonly { value: RecommendStrategy; label: string }[] = [
  { value: 'auto', label: 'Auto' },
  { value: 'single', label: 'Single leg' },
  { value: 'vertical', label: 'Vertical' },
  { value: 'delta_hedge', label: 'Δ hedge' },
];
const CAPITAL = /^(?:0|[1-9]\d{0,17})(?:\.\d{1,2})?$/;

/**
 * What the recommender is asked: the risk slider (three stops, each preset's targets shown
 * beside it), the capital to size against (prefilled from the profile, saved with the request),
 * the directional view and the strategy. The preset also sets the chain's filters, so the chain
 * dims what this preset would never pick.
 */
/** One target across the presets, the chosen preset's cell marked. */
function PresetTargetRow(props: {
  label: string;
  target: string;
  title?: string;
  active: RiskPreset;
  show: (preset: RiskPreset) => string;
}) {
  return (
    <tr>
      <th scope="row">{props.label}</th>
      <For each={PRESETS}>
        {(p) => (
          <td
            class="num"
            classList={{ 'preset-active': p === props.active }}
            data-preset={p}
            data-target={props.target}
            title={props.title}
          >
            {props.show(p)}
          </td>
        )}
      </For>
    </tr>
  );
}

export function RecommendForm(props: {
  symbol: string;
  presets: QueryState<readonly PresetTargetsView[]>;
  preset: RiskPreset;
  onPreset: (preset: RiskPreset) => void;
  savedCapital: string | null | undefined;
  busy: boolean;
  onRecommend: (input: RecommendInput) => void;
}) {
  const [capital, setCapital] = createSignal('');
  const [view, setView] = createSignal<DirectionalView>('bullish');
  const [strategy, setStrategy] = createSignal<RecommendStrategy>('auto');
  const [save, setSave] = createSignal(true);
  const [invalid, setInvalid] = createSignal<string>();
  // The saved capital fills the field once it arrives, unless the trader already typed one.
  createEffect(
    on(
      () => props.savedCapital,
      (saved) => {
        if (saved && capital() === '') setCapital(saved.replace(/\.0+$|(\.\d*?)0+$/, '$1'));
      },
    ),
  );

  const targets = (p: RiskPreset) =>
    props.presets.status === 'ready' ? props.presets.data.find((t) => t.preset === p) : undefined;
  const index = () => PRESETS.indexOf(props.preset);

  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    const c = capital().trim().replaceAll(',', '');
    if (c !== '' && (!CAPITAL.test(c) || /^0*(\.0*)?$/.test(c))) {
      setInvalid('Capital: a positive amount with at most two decimals, like 25000.');
      return;
    }
    setInvalid(undefined);
    props.onRecommend({
      symbol: props.symbol,
      view: view(),
      preset: props.preset,
      strategy: strategy(),
      save: save(),
      ...(c !== '' ? { capital: c } : {}),
    });
  };

  return (
    <form class="rec-form" aria-label="Recommendation request" onSubmit={submit}>
      <div class="field">
        <label for="risk-slider">
          Risk: <b class="rec-preset-name">{props.preset}</b>
        </label>
        <input
          id="risk-slider"
          class="risk-slider"
          type="range"
          min="0"
          max="2"
          step="1"
          value={index()}
          aria-valuetext={props.preset}
          list="risk-stops"
          onInput={(e) => props.onPreset(PRESETS[Number(e.currentTarget.value)] ?? 'balanced')}
        />
        <datalist id="risk-stops">
          <For each={PRESETS}>{(p, i) => <option value={i()} label={p} />}</For>
        </datalist>
        <div class="risk-stops" aria-hidden="true">
          <For each={PRESETS}>
            {(p) => (
              <button
                type="button"
                tabIndex={-1}
                classList={{ 'risk-stop': true, active: p === props.preset }}
                onClick={() => props.onPreset(p)}
              >
                {p}
              </button>
            )}
          </For>
        </div>
      </div>

      <table class="table table-tight preset-table" aria-label="Preset targets">
        <thead>
          <tr>
            <th scope="col">Target</th>
            <For each={PRESETS}>
              {(p) => (
                <th scope="col" class="num" classList={{ 'preset-active': p === props.preset }}>
                  {p.slice(0, 4)}.
                </th>
              )}
            </For>
          </tr>
        </thead>
        <tbody>
          <PresetTargetRow
            label="|Δ| target"
            target="delta"
            active={props.preset}
            show={(p) => targets(p)?.targetDelta.toFixed(2) ?? '—'}
          />
          <PresetTargetRow
            label="Expiry (days)"
            target="dte"
            active={props.preset}
            show={(p) => (targets(p) ? `${targets(p)!.minDte}–${targets(p)!.maxDte}` : '—')}
          />
          <PresetTargetRow
            label="Max loss"
            target="max-loss"
            title="Maximum loss as a share of capital"
            active={props.preset}
            show={(p) => (targets(p) ? formatPercent(targets(p)!.maxLossShare, 1) : '—')}
          />
        </tbody>
      </table>
      <Show when={props.presets.status === 'error' && props.presets}>
        {(s) => <ErrorAlert message={`Presets: ${(s() as { message: string }).message}`} />}
      </Show>

      <div class="rec-row">
        <InputField
          label="Capital (USD)"
          id="rec-capital"
          name="capital"
          inputmode="decimal"
          autocomplete="off"
          placeholder="saved capital"
          value={capital()}
          aria-invalid={invalid() ? 'true' : undefined}
          onInput={(e) => setCapital(e.currentTarget.value)}
        />
        <SelectField
          label="Strategy"
          id="rec-strategy"
          class="select"
          value={strategy()}
          onChange={(e) => setStrategy(e.currentTarget.value as RecommendStrategy)}
        >
          <For each={STRATEGIES}>{(s) => <option value={s.value}>{s.label}</option>}</For>
        </SelectField>
      </div>

      <fieldset class="view-toggle">
        <legend class="visually-hidden">Directional view</legend>
        <For each={VIEWS}>
          {(v) => (
            <label class={`view-choice view-${v}`}>
              <input type="radio" name="view" value={v} checked={view() === v} onChange={() => setView(v)} />
              {v}
            </label>
          )}
        </For>
      </fieldset>

      <label class="rec-save">
        <input type="checkbox" checked={save()} onChange={(e) => setSave(e.currentTarget.checked)} />
        Save capital and preset to my profile
      </label>
      <ErrorAlert message={invalid()} />
      <button type="submit" class="btn btn-primary btn-block" disabled={props.busy}>
        {props.busy ? 'Recommending…' : `Recommend for ${props.symbol}`}
      </button>
    </form>
  );
}
