/*
 * One piece, over 400 lines: `backtests.create` takes one spec, and this is its one form. Every
 * input maps to a field of the spec, the server's errors come back by field path and are shown
 * beside the input they name, and the cost estimate reads the same spec; the helpers at the top
 * (local time to UTC, detector overrides) serve only this form. Split by fieldset, each part
 * would need the shared error map and the spec builder back as props.
 */
import {
  type BacktestAgent,
  type BacktestSpecInput,
  backtestAgentSchema,
  backtestDataSchema,
  backtestExecutionSchema,
  backtestSpecSchema,
} from '@aegis/shared/schemas/backtest';
import { createSignal, For, type JSX, Show, untrack } from 'solid-js';
import { fieldErrorsOf } from '../lib/field-errors.ts';
import { formatCount } from '../lib/metric-format.ts';
import { errorMessageOf, type RouterOutputs } from '../lib/trpc.ts';
import { ErrorAlert } from './error-alert.tsx';

/** The shared schema's defaults, shown in the form (one place per fact). */
const EXECUTION = backtestExecutionSchema.parse({});
const AGENT = backtestAgentSchema.parse({});
const DEFAULT_SIM = backtestDataSchema.parse({ kind: 'simulation' }) as { symbols: number; ticks: number };
const DEFAULT_CAPITAL = backtestSpecSchema.shape.capital.parse(undefined);

/**
 * The inputs an error can be shown beside (dotted paths of BacktestSpec, as the server names
 * them). An error on any other path (the data union as a whole, an unknown key) is shown above
 * the submit button with its path.
 */
const FIELDS = new Set([
  'name',
  'instruments',
  'data.from',
  'data.to',
  'data.symbols',
  'data.ticks',
  'capital',
  'seed',
  'agent.decider',
  'agent.riskPreset',
  'agent.maxProposalsPerHour',
  'agent.minHoldingSeconds',
  'execution.feedLatencyUs',
  'execution.orderLatencyUs',
  'execution.takerFeeBps',
  'execution.makerFeeBps',
  'execution.minFee',
  'execution.slippageBps',
  'detectors',
]);

/** `datetime-local` has no zone: the form says UTC and sends it as UTC. */
function utcFromLocalInput(value: string): string {
  return value === '' ? '' : `${value.length === 16 ? `${value}:00` : value}Z`;
}

/** "cooldownMs=800, breakoutZ=2.5" (or one per line) → { cooldownMs: 800, breakoutZ: 2.5 }. */
function parseDetectors(text: string): { value: Record<string, number> } | { error: string } {
  const out: Record<string, number> = {};
  for (const raw of text.split(/[\n,;]+/)) {
    const item = raw.trim();
    if (item === '') continue;
    const match = /^([A-Za-z0-9_.]{1,64})\s*[=:]\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)$/i.exec(item);
    if (!match) return { error: `"${item}" is not name=number` };
    out[match[1]!] = Number(match[2]);
  }
  return { value: out };
}

/**
 * The form of `backtests.create`: a run's name, instruments, its data (a time range of the ticks
 * table, or the engine's labelled simulation; tick files are uploaded from the CLI), capital and
 * seed, the decision agent's settings, execution realism and optional detector overrides.
 * Empty optional inputs are left out, so the server applies the same defaults as the CLI. The
 * server validates; each error it names is shown beside its input.
 */
type CostEstimate = RouterOutputs['backtests']['estimate'];

type DataSource = 'simulation' | 'ticks_table';
const SOURCES: readonly { value: DataSource; label: string }[] = [
  { value: 'simulation', label: 'Labelled simulation' },
  { value: 'ticks_table', label: 'Recorded ticks (time range)' },
];

/** Dollars: cents from a dollar up, two significant digits below (a call costs fractions of a cent). */
const usd = (x: number) => `$${x >= 1 ? x.toFixed(2) : Number(x.toPrecision(2)).toString()}`;

export function BacktestForm(props: {
  submit: (spec: BacktestSpecInput) => Promise<unknown>;
  /** What the LLM decider would cost for this spec (`backtests.estimate`), asked before an LLM run. */
  estimate: (spec: BacktestSpecInput) => Promise<CostEstimate>;
  disabled?: boolean;
  disabledReason?: string;
}) {
  const [source, setSource] = createSignal<DataSource>('simulation');
  const [errors, setErrors] = createSignal<Record<string, string>>({});
  const [failure, setFailure] = createSignal<string>();
  const [pending, setPending] = createSignal(false);
  const [decider, setDecider] = createSignal<BacktestAgent['decider']>('rules');
  // The LLM's estimated cost for the form as it is now; any edit asks again.
  const [quote, setQuote] = createSignal<CostEstimate>();
  let form: HTMLFormElement | undefined;
  let executionPart: HTMLDetailsElement | undefined;
  let advancedPart: HTMLDetailsElement | undefined;

  /** Shows each error where it can be seen: a collapsed part holding a named field opens. */
  const showErrors = (byField: Record<string, string>) => {
    setErrors(byField);
    const keys = Object.keys(byField);
    if (executionPart && keys.some((k) => k.startsWith('execution.'))) executionPart.open = true;
    if (advancedPart && keys.includes('detectors')) advancedPart.open = true;
  };

  const read = (): BacktestSpecInput | { error: string; field: string } => {
    const data = new FormData(form);
    const text = (key: string) => String(data.get(key) ?? '').trim();
    const int = (key: string) => (text(key) === '' ? undefined : Number(text(key)));
    const dec = (key: string) => (text(key) === '' ? undefined : text(key));
    const detectors = parseDetectors(text('detectors'));
    if ('error' in detectors) return { error: detectors.error, field: 'detectors' };
    const spec: BacktestSpecInput = {
      name: text('name'),
      instruments: text('instruments')
        .split(/[\s,]+/)
        .filter((s) => s !== '')
        .map((s) => s.toUpperCase()),
      data:
        source() === 'simulation'
          ? { kind: 'simulation', symbols: int('data.symbols'), ticks: int('data.ticks') }
          : {
              kind: 'ticks_table',
              from: utcFromLocalInput(text('data.from')),
              to: utcFromLocalInput(text('data.to')),
            },
      capital: dec('capital'),
      seed: int('seed'),
      agent: {
        decider: decider(),
        riskPreset: text('agent.riskPreset') as BacktestAgent['riskPreset'],
        maxProposalsPerHour: int('agent.maxProposalsPerHour'),
        minHoldingSeconds: int('agent.minHoldingSeconds'),
      },
      execution: {
        feedLatencyUs: int('execution.feedLatencyUs'),
        orderLatencyUs: int('execution.orderLatencyUs'),
        queuePosition: data.get('execution.queuePosition') === 'on',
        takerFeeBps: dec('execution.takerFeeBps'),
        makerFeeBps: dec('execution.makerFeeBps'),
        minFee: dec('execution.minFee'),
        slippageBps: dec('execution.slippageBps'),
      },
      detectors: detectors.value,
      persistTicks: data.get('persistTicks') === 'on',
    };
    return spec;
  };

  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    setErrors({});
    setFailure(undefined);
    const spec = read();
    if ('error' in spec) {
      showErrors({ [spec.field]: spec.error });
      return;
    }
    setPending(true);
    try {
      if (decider() === 'openai' && !quote()) {
        // An LLM run costs money: show the estimate first; the next press starts it.
        setQuote(await props.estimate(spec));
        return;
      }
      await props.submit(spec);
      setQuote(undefined);
    } catch (e) {
      const byField = fieldErrorsOf(e, FIELDS);
      showErrors(byField);
      // A message for the whole form when no input is named (or the error is not about input).
      if (Object.keys(byField).length === 0) setFailure(errorMessageOf(e));
      else if (byField['']) setFailure(byField['']);
      else setFailure('Check the highlighted fields.');
      // Bring the first invalid input into view for keyboard and screen-reader users.
      queueMicrotask(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
    } finally {
      setPending(false);
    }
  };

  /** A labelled input with its hint and, when the server named it, its error. */
  const Field = (p: {
    name: string;
    label: string;
    hint?: string;
    class?: string;
    children: (attrs: {
      id: string;
      name: string;
      'aria-invalid': 'true' | undefined;
      'aria-describedby': string | undefined;
    }) => JSX.Element;
  }) => {
    const id = () => `bt-${p.name.replace(/\./g, '-')}`;
    const error = () => errors()[p.name];
    const describedBy = () =>
      [p.hint ? `${id()}-hint` : '', error() ? `${id()}-error` : ''].filter(Boolean).join(' ') || undefined;
    return (
      <div class={`field ${p.class ?? ''}`} data-field={p.name}>
        <label for={id()}>{p.label}</label>
        {
          // Rendered once: the input keeps what was typed while its error and description
          // change (getters, read by the spread's own effect).
          untrack(() =>
            p.children({
              id: id(),
              name: p.name,
              get 'aria-invalid'() {
                return error() ? ('true' as const) : undefined;
              },
              get 'aria-describedby'() {
                return describedBy();
              },
            }),
          )
        }
        <Show when={p.hint}>
          <span class="field-hint" id={`${id()}-hint`}>
            {p.hint}
          </span>
        </Show>
        <Show when={error()}>
          <span class="field-error" id={`${id()}-error`}>
            {error()}
          </span>
        </Show>
      </div>
    );
  };

  return (
    <form
      ref={form}
      class="bt-form"
      onSubmit={onSubmit}
      onInput={() => setQuote(undefined)}
      aria-label="New backtest"
      novalidate
    >
      <fieldset class="bt-fieldset">
        <legend>Run</legend>
        <Field name="name" label="Name" class="bt-span2">
          {(a) => (
            <input {...a} required maxLength={120} autocomplete="off" placeholder="Breakout, 5 bp fees" />
          )}
        </Field>
        <Field name="capital" label="Capital">
          {(a) => <input {...a} inputMode="decimal" autocomplete="off" placeholder={DEFAULT_CAPITAL} />}
        </Field>
        <Field
          name="instruments"
          label="Instruments"
          hint={
            source() === 'simulation'
              ? 'Names given to the simulated symbols, in order; only these are traded'
              : 'Symbols to trade, comma or space separated'
          }
          class="bt-span2"
        >
          {(a) => <input {...a} autocomplete="off" placeholder="SIM0, SIM1" />}
        </Field>
        <Field name="seed" label="Seed" hint="Same spec + seed = same result">
          {(a) => <input {...a} type="number" min="0" step="1" placeholder="1" />}
        </Field>
      </fieldset>

      <fieldset class="bt-fieldset">
        <legend>Data</legend>
        <div class="bt-wide bt-source" role="radiogroup" aria-label="Data source">
          <For each={SOURCES}>
            {(s) => (
              <label class="check">
                <input
                  type="radio"
                  name="data.kind"
                  value={s.value}
                  checked={source() === s.value}
                  onChange={() => setSource(s.value)}
                />
                {s.label}
              </label>
            )}
          </For>
          <span class="field-hint">
            Tick files (CSV, .ticks): <code>aegis backtest run &lt;file&gt;</code>
          </span>
        </div>
        <Show
          when={source() === 'simulation'}
          fallback={
            <>
              <Field name="data.from" label="From (UTC)">
                {(a) => <input {...a} type="datetime-local" step="1" />}
              </Field>
              <Field name="data.to" label="To (UTC)">
                {(a) => <input {...a} type="datetime-local" step="1" />}
              </Field>
            </>
          }
        >
          <Field name="data.symbols" label="Simulated symbols">
            {(a) => (
              <input
                {...a}
                type="number"
                min="1"
                max="1000"
                step="1"
                placeholder={String(DEFAULT_SIM.symbols)}
              />
            )}
          </Field>
          <Field name="data.ticks" label="Simulated ticks">
            {(a) => (
              <input {...a} type="number" min="1000" step="1000" placeholder={String(DEFAULT_SIM.ticks)} />
            )}
          </Field>
        </Show>
      </fieldset>

      <fieldset class="bt-fieldset bt-cols-4">
        <legend>Decision agent</legend>
        <Field
          name="agent.decider"
          label="Decider"
          hint={decider() === 'openai' ? 'Cost estimated first' : undefined}
        >
          {(a) => (
            <select
              {...a}
              class="select"
              onChange={(e) => setDecider(e.currentTarget.value === 'openai' ? 'openai' : 'rules')}
            >
              <option value="rules">rules</option>
              <option value="openai">LLM (OpenAI)</option>
            </select>
          )}
        </Field>
        <Field name="agent.riskPreset" label="Risk preset">
          {(a) => (
            <select {...a} class="select">
              <option value="conservative">conservative</option>
              <option value="balanced" selected={AGENT.riskPreset === 'balanced'}>
                balanced
              </option>
              <option value="aggressive">aggressive</option>
            </select>
          )}
        </Field>
        <Field name="agent.maxProposalsPerHour" label="Proposals per hour">
          {(a) => (
            <input {...a} type="number" min="1" step="1" placeholder={String(AGENT.maxProposalsPerHour)} />
          )}
        </Field>
        <Field name="agent.minHoldingSeconds" label="Min holding (s)" hint="Before an opposite one">
          {(a) => (
            <input {...a} type="number" min="0" step="1" placeholder={String(AGENT.minHoldingSeconds)} />
          )}
        </Field>
      </fieldset>

      <details class="bt-collapse" ref={executionPart}>
        <summary>
          Execution <span class="bt-summary-note">latencies, queue position, fees</span>
        </summary>
        <fieldset class="bt-fieldset bt-inner">
          <legend class="visually-hidden">Execution</legend>
          <Field name="execution.feedLatencyUs" label="Feed latency (µs)">
            {(a) => (
              <input {...a} type="number" min="0" step="1" placeholder={String(EXECUTION.feedLatencyUs)} />
            )}
          </Field>
          <Field name="execution.orderLatencyUs" label="Order latency (µs)">
            {(a) => (
              <input {...a} type="number" min="0" step="1" placeholder={String(EXECUTION.orderLatencyUs)} />
            )}
          </Field>
          <Field name="execution.takerFeeBps" label="Taker fee (bps)">
            {(a) => (
              <input {...a} inputMode="decimal" autocomplete="off" placeholder={EXECUTION.takerFeeBps} />
            )}
          </Field>
          <Field name="execution.makerFeeBps" label="Maker fee (bps)">
            {(a) => (
              <input {...a} inputMode="decimal" autocomplete="off" placeholder={EXECUTION.makerFeeBps} />
            )}
          </Field>
          <Field name="execution.minFee" label="Min fee per order">
            {(a) => <input {...a} inputMode="decimal" autocomplete="off" placeholder={EXECUTION.minFee} />}
          </Field>
          <Field name="execution.slippageBps" label="Slippage per level (bps)">
            {(a) => (
              <input {...a} inputMode="decimal" autocomplete="off" placeholder={EXECUTION.slippageBps} />
            )}
          </Field>
          <label class="check bt-wide">
            <input type="checkbox" name="execution.queuePosition" checked={EXECUTION.queuePosition} />
            Queue position: resting orders wait behind the displayed size at their price
          </label>
        </fieldset>
      </details>

      <details class="bt-collapse" ref={advancedPart}>
        <summary>
          Detectors and options <span class="bt-summary-note">threshold overrides, tick persistence</span>
        </summary>
        <fieldset class="bt-fieldset bt-inner">
          <legend class="visually-hidden">Detectors and options</legend>
          <Field
            name="detectors"
            label="Detector thresholds and cooldowns"
            hint="name=value, one per line or comma separated; omitted ones keep the engine's defaults"
            class="bt-wide"
          >
            {(a) => (
              <textarea
                {...a}
                class="textarea"
                rows={3}
                spellcheck={false}
                placeholder="breakout.cooldownMs=5000"
              />
            )}
          </Field>
          <label class="check bt-wide">
            <input type="checkbox" name="persistTicks" />
            Also write the replayed ticks to the ticks table
          </label>
        </fieldset>
      </details>

      <div class="bt-form-foot">
        <ErrorAlert message={failure()} />
        <Show when={quote()}>
          {(q) => (
            <div class="alert alert-info" role="status" aria-label="LLM cost estimate">
              {q().usd === null
                ? `The LLM decider costs at most ${usd(q().usdPerSimulatedHour)} per simulated hour`
                : `The LLM decider is estimated at up to ${usd(q().usd!)}` +
                  (q().maxCalls === null ? '' : ` for at most ${formatCount(q().maxCalls)} calls`) +
                  (q().simulatedHours === null ? '' : ` over ${q().simulatedHours} simulated hours`)}
              {q().model ? ` (${q().model}; ${q().basis}).` : ` (${q().basis}).`}
            </div>
          )}
        </Show>
        <button type="submit" class="btn btn-primary" disabled={pending() || props.disabled}>
          {pending()
            ? decider() === 'openai' && !quote()
              ? 'Estimating…'
              : 'Starting…'
            : decider() === 'openai'
              ? quote()
                ? 'Start with the LLM at this cost'
                : 'Estimate the LLM cost'
              : 'Start backtest'}
        </button>
        <Show when={props.disabled && props.disabledReason}>
          <span class="field-hint">{props.disabledReason}</span>
        </Show>
      </div>
    </form>
  );
}
