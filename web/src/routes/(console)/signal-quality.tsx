import type { SignalEvaluation } from '@aegis/shared/schemas/signal-quality';
import { createMemo, createSignal, For, Show } from 'solid-js';
import { CalibrationChart } from '../../components/calibration-chart.tsx';
import { DataTable } from '../../components/data-table/data-table.tsx';
import { EmptyState, Panel, QueryView } from '../../components/panel.tsx';
import { SignalQualityTable, SOURCE_LABELS, TargetChecks } from '../../components/signal-quality-table.tsx';
import { utcTime } from '../../lib/decimal-format.ts';
import { formatCount } from '../../lib/metric-format.ts';
import { createQuery } from '../../lib/query.ts';
import { type RouterOutputs, trpc } from '../../lib/trpc.ts';
import '../../research.css';
import { SelectField } from '../../components/input-field.tsx';
import { PageHeader } from '../../components/page-header.tsx';

type Model = RouterOutputs['models']['list']['items'][number];

/** The run behind a table, in one line: split, seeds, size, events, horizons. */
function EvaluationSummary(props: { evaluation: SignalEvaluation }) {
  const e = () => props.evaluation;
  return (
    <p class="sq-summary">
      <span>
        Split <b>{e().split}</b>
      </span>
      <span>
        Seeds <b>{e().seeds.join(', ')}</b>
      </span>
      <span>
        <b>{formatCount(e().symbols)}</b> symbols · <b>{formatCount(e().ticks)}</b> ticks ·{' '}
        <b>{formatCount(e().events)}</b> labelled events
      </span>
      <span>
        Horizons <b>{e().horizonsTicks.join(', ')}</b> ticks (first is the main one)
      </span>
      <span>Baselines hold the engine's signal count</span>
    </p>
  );
}

/**
 * Signal quality: the model registry's versions (the active one marked) and, for the chosen one,
 * the evaluation harness's latest results (`npm run eval:signals`) — the engine against a
 * momentum rule, a mean-reversion rule and random signals with equal counts, overall and per
 * pattern — its score calibration and the quality target check (docs/signal-evaluation.md).
 */
export default function SignalQualityPage() {
  const models = createQuery(async () => (await trpc.models.list.query({ limit: 50 })).items, {
    pollMs: 60_000,
  });
  const [chosen, setChosen] = createSignal<string>();
  const [calibrationOf, setCalibrationOf] = createSignal('engine:all');

  const current = createMemo((): Model | undefined => {
    const s = models.state();
    if (s.status !== 'ready') return undefined;
    return (
      s.data.find((m) => m.version === chosen()) ??
      s.data.find((m) => m.active) ??
      s.data.find((m) => m.evaluation !== null) ??
      s.data[0]
    );
  });
  const calibrationRow = createMemo(() => {
    const e = current()?.evaluation;
    if (!e) return undefined;
    const [source, pattern] = calibrationOf().split(':');
    return (
      e.rows.find((r) => r.source === source && r.pattern === pattern) ??
      e.rows.find((r) => r.source === 'engine')
    );
  });

  return (
    <>
      <PageHeader
        title="Signal quality"
        sub="Each model version on the evaluation harness's held-out seeds, against baselines"
      />
      <div class="research-grid">
        <div class="span-5">
          <Panel title="Models" meta="Registry, newest first" flush>
            <QueryView query={models} errorTitle="Could not load the model registry">
              {(list) => (
                <Show
                  when={list.length > 0}
                  fallback={
                    <EmptyState title="No models in the registry yet">
                      <code>npm run model:train</code> registers one; <code>npm run eval:signals</code>{' '}
                      evaluates it.
                    </EmptyState>
                  }
                >
                  <div class="scroll-x sq-models">
                    <DataTable
                      label="Signal models"
                      tableAttrs={{ 'aria-label': 'Signal models' }}
                      rows={list}
                      rowAttrs={(m) => ({
                        'data-model': m.version,
                        'aria-selected': String(current()?.version === m.version),
                      })}
                      onRowClick={(m) => setChosen(m.version)}
                      columns={[
                        {
                          id: 'version',
                          header: 'Version',
                          title: (m) => `training data ${m.trainingDataHash}`,
                          cell: (m) => (
                            <>
                              <button
                                type="button"
                                class="btn-link"
                                aria-label={`Show model ${m.version}`}
                                onClick={(e) => {
                                  e.stopPropagation();
                                  setChosen(m.version);
                                }}
                              >
                                {m.version}
                              </button>
                              <Show when={m.active}>
                                {' '}
                                <span class="tag tag-active">active</span>
                              </Show>
                            </>
                          ),
                        },
                        {
                          id: 'created',
                          header: 'Created (UTC)',
                          class: 'mono',
                          priority: 2,
                          cell: (m) => utcTime(m.createdAt, false),
                        },
                        {
                          id: 'split',
                          header: 'Split',
                          class: 'dim',
                          priority: 3,
                          cell: (m) => (m.evaluation ? m.evaluation.split : 'not evaluated'),
                        },
                        {
                          id: 'target',
                          header: 'Target',
                          cell: (m) => (
                            <Show when={m.evaluation} fallback={<span class="dim">—</span>}>
                              {(e) => (
                                <span class={`tag ${e().target.met ? 'tag-ok' : 'tag-bad'}`}>
                                  {e().target.met ? 'met' : 'not met'}
                                </span>
                              )}
                            </Show>
                          ),
                        },
                      ]}
                    />
                  </div>
                </Show>
              )}
            </QueryView>
          </Panel>
        </div>
        <div class="span-7">
          <Panel
            title="Target check"
            meta={current() ? `Model ${current()!.version}` : 'The quality target on the test seeds'}
          >
            <Show
              when={current()?.evaluation}
              fallback={<EmptyState title="No evaluation for this model yet" />}
            >
              {(e) => <TargetChecks target={e().target} />}
            </Show>
          </Panel>
        </div>
      </div>
      <Show when={current()?.evaluation}>
        {(e) => (
          <>
            <div class="research-section">
              <Panel
                title="Engine against baselines"
                meta={`Model ${e().modelVersion}${current()?.active ? ' (active)' : ''}`}
                flush
              >
                <EvaluationSummary evaluation={e()} />
                <SignalQualityTable evaluation={e()} />
              </Panel>
            </div>
            <div class="research-grid research-section">
              <div class="span-5">
                <Panel title="Calibration" meta="Share right per score bin; diagonal = calibrated">
                  <SelectField
                    label="Signals"
                    id="sq-calibration-of"
                    class="select"
                    value={calibrationOf()}
                    onChange={(ev) => setCalibrationOf(ev.currentTarget.value)}
                  >
                    <For each={e().rows.filter((r) => r.calibration.length > 0)}>
                      {(r) => (
                        <option value={`${r.source}:${r.pattern}`}>
                          {SOURCE_LABELS[r.source]} ·{' '}
                          {r.pattern === 'all' ? 'all patterns' : r.pattern.replaceAll('_', ' ')}
                        </option>
                      )}
                    </For>
                  </SelectField>
                  <Show when={calibrationRow()}>
                    {(row) => (
                      <CalibrationChart
                        bins={row().calibration}
                        label={`Calibration of ${SOURCE_LABELS[row().source]} (${row().pattern}) scores`}
                      />
                    )}
                  </Show>
                </Panel>
              </div>
              <div class="span-7">
                <Panel title="Training" meta="Registry entry">
                  <dl class="kv">
                    <dt>Training data hash</dt>
                    <dd class="mono">{current()?.trainingDataHash}</dd>
                    <For each={Object.entries(current()?.metrics ?? {})}>
                      {([k, v]) => (
                        <>
                          <dt>{k}</dt>
                          <dd class="mono">
                            {typeof v === 'number' ? String(Number(v.toFixed(4))) : JSON.stringify(v)}
                          </dd>
                        </>
                      )}
                    </For>
                  </dl>
                </Panel>
              </div>
            </div>
          </>
        )}
      </Show>
    </>
  );
}
