import { createEffect, For, Match, on, Show, Switch } from 'solid-js';
import { formatDecimal, signOfDecimal } from '../../lib/decimal-format.ts';
import { decimalsOf, priceDecimals } from '../../lib/live-quotes.ts';
import { formatExposure, formatGreek } from '../../lib/option-format.ts';
import type {
  Recommendation,
  RecommendationLayer,
  RecommendationStream,
} from '../../lib/option-recommendation.ts';
import { DataTable } from '../data-table/data-table.tsx';
import { sideColumn } from '../data-table/side-column.ts';
import { ErrorAlert } from '../error-alert.tsx';
import { EmptyState } from '../panel.tsx';
import { RuleVerdicts } from '../rule-verdicts.tsx';

const STEPS: readonly RecommendationLayer['kind'][] = ['context', 'filters', 'scoring', 'sizing', 'risk'];
const STEP_LABEL: Record<RecommendationLayer['kind'], string> = {
  context: 'Market context',
  filters: 'Filters',
  scoring: 'Scoring',
  sizing: 'Sizing',
  risk: 'Risk governor',
};

/**
 * The recommender's rationale as it is computed: a step rail (context → filters → scoring →
 * sizing → risk) that fills in as each layer arrives, each layer with its summary, its rows
 * (label, value, why) and for the risk layer every rule's verdict; then the result with its legs,
 * size, prices and limits, and a button that loads a vertical into the strategy builder.
 */
export function RecommendationPanel(props: {
  stream: RecommendationStream;
  onLoad: (recommendation: Recommendation) => void;
}) {
  const s = props.stream;
  const arrived = (kind: RecommendationLayer['kind']) => s.layers().some((l) => l.kind === kind);
  let root: HTMLDivElement | undefined;
  // Follow the stream: each new layer (and the result) scrolls into the panel's view.
  createEffect(
    on([() => s.layers().length, s.result], () => {
      const body = root?.closest<HTMLElement>('.panel-body');
      if (body && s.status() !== 'idle') body.scrollTo({ top: body.scrollHeight, behavior: 'smooth' });
    }),
  );
  return (
    <div class="rec" data-status={s.status()} ref={root}>
      <Show
        when={s.status() !== 'idle'}
        fallback={
          <EmptyState title="No recommendation yet">
            Pick a risk preset, capital and view, then ask for a recommendation: its reasoning appears here
            layer by layer.
          </EmptyState>
        }
      >
        <ol class="rec-steps" aria-label="Recommendation steps">
          <For each={STEPS}>
            {(kind) => (
              <li
                classList={{
                  'rec-step': true,
                  done: arrived(kind),
                  waiting: !arrived(kind) && s.status() === 'streaming',
                }}
                data-step={kind}
              >
                {STEP_LABEL[kind]}
              </li>
            )}
          </For>
        </ol>
        <div class="rec-layers" aria-live="polite">
          <For each={s.layers()}>{(layer, i) => <LayerCard layer={layer} index={i()} />}</For>
          <Show when={s.status() === 'streaming'}>
            <p class="rec-wait dim" role="status">
              Computing the {STEP_LABEL[STEPS[s.layers().length] ?? 'risk'].toLowerCase()} layer…
            </p>
          </Show>
          <ErrorAlert message={s.error()} />
          <Show when={s.result()}>
            {(r) => (
              <Switch>
                <Match when={r().recommendation}>
                  {(rec) => <ResultCard rec={rec()} onLoad={props.onLoad} />}
                </Match>
                <Match when={true}>
                  <div class="alert alert-info rec-none" role="status" data-result="none">
                    No recommendation{r().reason ? `: ${r().reason}` : '.'}
                  </div>
                </Match>
              </Switch>
            )}
          </Show>
        </div>
      </Show>
    </div>
  );
}

function LayerCard(props: { layer: RecommendationLayer; index: number }) {
  // The risk layer repeats each rule's verdict as a row; the verdict list shows those (failed
  // first, with limits), so only the rows that are not a rule stay in the table.
  const rows = () => {
    const rules = new Set((props.layer.verdicts ?? []).map((v) => v.rule));
    return props.layer.rows.filter((r) => !rules.has(r.label));
  };
  return (
    <section
      class="rec-layer"
      data-kind={props.layer.kind}
      aria-label={`Layer ${props.index + 1}: ${props.layer.title}`}
    >
      <header class="rec-layer-head">
        <span class="rec-layer-n">{props.index + 1}</span>
        <h3>{props.layer.title}</h3>
        <span class="tag">{props.layer.kind}</span>
      </header>
      <p class="rec-summary">{props.layer.summary}</p>
      <Show when={rows().length > 0}>
        <dl class="rec-rows">
          <For each={rows()}>
            {(row) => (
              <div class="rec-row-item" data-label={row.label}>
                <dt>{row.label}</dt>
                <dd class="mono" data-value={row.value}>
                  {row.value}
                </dd>
                <Show when={row.note}>
                  <dd class="rec-note">{row.note}</dd>
                </Show>
              </div>
            )}
          </For>
        </dl>
      </Show>
      <Show when={props.layer.verdicts}>{(v) => <RuleVerdicts verdicts={v()} />}</Show>
    </section>
  );
}

function ResultCard(props: { rec: Recommendation; onLoad: (r: Recommendation) => void }) {
  const r = () => props.rec;
  // Option prices to 4 decimals at most: the mids behind them are model prices with many more.
  const d = () => Math.min(4, Math.max(2, ...r().legs.map((l) => priceDecimals(l.price))));
  const net = () => r().netPrice;
  return (
    <section class="rec-result" aria-label="Recommendation" data-allowed={String(r().allowed)}>
      <header class="rec-layer-head">
        <h3>
          {r().strategy === 'delta_hedge'
            ? 'Delta hedge'
            : r().strategy === 'vertical'
              ? 'Vertical'
              : 'Single'}{' '}
          <span class="mono">{r().symbol}</span>
        </h3>
        <span class={`tag ${r().allowed ? 'tag-ok' : 'tag-bad'}`} role="status">
          {r().allowed ? 'Governor allows' : 'Governor would deny'}
        </span>
      </header>
      <DataTable
        label="Legs"
        tableAttrs={{ 'aria-label': 'Legs' }}
        class="rec-legs"
        dense
        rows={r().legs}
        rowAttrs={(leg) => ({ 'data-symbol': leg.symbol })}
        columns={[
          sideColumn((leg: Recommendation['legs'][number]) => leg.side),
          {
            id: 'contract',
            header: 'Contract',
            class: 'mono',
            title: (leg) => leg.symbol,
            cell: (leg) =>
              leg.right
                ? `${leg.expiry ?? ''} ${formatDecimal(leg.strike, decimalsOf(leg.strike, 0))} ${leg.right}`
                : leg.symbol,
          },
          { id: 'ratio', header: 'Ratio', numeric: true, cell: (leg) => leg.ratio },
          { id: 'mid', header: 'Mid', numeric: true, cell: (leg) => formatDecimal(leg.price, d()) },
          { id: 'delta', header: 'Δ', numeric: true, cell: (leg) => formatGreek(leg.delta, 3) },
        ]}
      />
      <dl class="rec-figures">
        <div>
          <dt>Quantity</dt>
          <dd class="mono" data-field="quantity">
            {formatDecimal(r().quantity, 0)}
          </dd>
        </div>
        <div>
          <dt>Net {signOfDecimal(net()) < 0 ? 'credit' : 'debit'}</dt>
          <dd class="mono" data-field="net-price" data-value={net()}>
            {formatDecimal(net().replace(/^-/, ''), d())}
          </dd>
        </div>
        <div>
          <dt>Max loss</dt>
          <dd class="mono neg" data-field="max-loss" data-value={r().maxLoss}>
            {formatDecimal(r().maxLoss, 2)}
          </dd>
        </div>
        <div>
          <dt>Max gain</dt>
          <dd class="mono pos" data-field="max-gain" data-value={r().maxGain ?? ''}>
            {r().maxGain === null ? 'unlimited' : formatDecimal(r().maxGain, 2)}
          </dd>
        </div>
        <div>
          <dt>Breakeven</dt>
          <dd class="mono" data-field="breakevens" data-value={r().breakevens.join(' ')}>
            {r().breakevens.length > 0
              ? r()
                  .breakevens.map((b) => formatDecimal(b, d()))
                  .join(' / ')
              : '—'}
          </dd>
        </div>
        <div>
          <dt>Net Δ</dt>
          <dd class="mono" data-field="net-delta" data-value={String(r().netDelta)}>
            {formatExposure(r().netDelta, 2)}
          </dd>
        </div>
      </dl>
      <button
        type="button"
        class="btn btn-block"
        disabled={r().strategy !== 'vertical'}
        title={r().strategy === 'vertical' ? undefined : 'The builder takes verticals only'}
        onClick={() => props.onLoad(r())}
      >
        Load into strategy builder
      </button>
    </section>
  );
}
