import {
  INSTRUMENT_LIMIT_FIELDS,
  INT_LIMIT_FIELDS,
  LIMIT_FIELDS,
  type LimitField,
} from '@aegis/shared/risk/limits';
import { createSignal, For, Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal-format.ts';
import { reauthFailure } from '../lib/form-action.ts';
import { createQuery } from '../lib/query.ts';
import { type RouterInputs, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { DataTable } from './data-table/data-table.tsx';
import { ErrorAlert } from './error-alert.tsx';
import { InputField } from './input-field.tsx';
import { Panel, QueryView } from './panel.tsx';

type Scope = RouterOutputs['risk']['limits']['get'][number];
type SetInput = RouterInputs['risk']['limits']['set'];

/** What each limit bounds, in the unit it is entered in. */
const LABELS: Record<LimitField, string> = {
  maxOrderQty: 'Order quantity (units)',
  maxOrderNotional: 'Order notional ($)',
  maxPosition: 'Position (units)',
  maxGrossExposure: 'Gross exposure ($)',
  maxNetExposure: 'Net exposure ($)',
  maxNetDelta: 'Net delta ($)',
  maxOpenLegs: 'Open legs',
  maxDailyLoss: 'Daily loss ($)',
  priceCollarBps: 'Price collar (bps)',
  maxReferenceAgeMs: 'Reference age (ms)',
  maxSpreadBps: 'Spread (bps)',
  duplicateWindowMs: 'Duplicate window (ms)',
  maxOrdersPerMinute: 'Orders per minute',
  lossStreakCount: 'Loss streak (trades)',
  lossStreakThreshold: 'Loss streak threshold ($)',
};
const INT_FIELDS = new Set<LimitField>(INT_LIMIT_FIELDS);
/** A limit as stored, digits grouped, never rounded (it is what the governor compares against). */
const exact = (v: string) => formatDecimal(v, (v.split('.')[1] ?? '').length);
const SOURCE: Record<string, string> = {
  default: 'platform default',
  desk: 'desk',
  instrument: 'instrument override',
  removed: 'removed',
};

const fieldsOf = (symbol: string): readonly LimitField[] =>
  symbol === '*' ? LIMIT_FIELDS : INSTRUMENT_LIMIT_FIELDS;

/**
 * The desk's risk limits (Settings): the effective value of every limit and where it comes from
 * (platform default, desk, instrument override, or removed), for the desk and each instrument
 * override. Desk admins set values (a merge: empty inputs stay as they are), reset one to what it
 * inherits, or remove it ("no limit", after a confirmation); each change needs the password
 * again, as the server requires a recent re-authentication. Everyone else sees it read-only.
 */
export function RiskLimitsPanel(props: { canEdit: boolean }) {
  const [symbol, setSymbol] = createSignal('*');
  const limits = createQuery(() =>
    trpc.risk.limits.get.query(symbol() === '*' ? undefined : { symbol: symbol() }),
  );
  const [error, setError] = createSignal<string>();
  const [notice, setNotice] = createSignal<string>();
  const [pending, setPending] = createSignal(false);
  const [confirmRemove, setConfirmRemove] = createSignal<LimitField | null>(null);
  let passwordInput: HTMLInputElement | undefined;

  /** Re-authenticates with the panel's password field, then runs the change. */
  const change = async (what: string, run: () => Promise<unknown>) => {
    const password = passwordInput?.value ?? '';
    if (!password) {
      setError('Enter your password to change risk limits.');
      return;
    }
    setPending(true);
    setError(undefined);
    setNotice(undefined);
    try {
      await trpc.auth.reauthenticate.mutate({ password });
      await run();
      if (passwordInput) passwordInput.value = '';
      setNotice(what);
      setConfirmRemove(null);
      await limits.refetch();
    } catch (e) {
      setError(reauthFailure(e));
    } finally {
      setPending(false);
    }
  };

  const save = (event: SubmitEvent, scope: Scope) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const input: Record<string, unknown> = { symbol: scope.symbol };
    for (const f of fieldsOf(scope.symbol)) {
      const raw = String(data.get(f) ?? '').trim();
      if (raw !== '') input[f] = INT_FIELDS.has(f) ? Number(raw) : raw;
    }
    if (Object.keys(input).length === 1) {
      setError('Enter at least one new value.');
      return;
    }
    const form = event.currentTarget as HTMLFormElement;
    void change('Limits saved.', async () => {
      await trpc.risk.limits.set.mutate(input as SetInput);
      form.reset();
    });
  };

  const pickScope = (event: SubmitEvent) => {
    event.preventDefault();
    const s = String(new FormData(event.currentTarget as HTMLFormElement).get('scope') ?? '').trim();
    setSymbol(s === '' ? '*' : s.toUpperCase());
    void limits.refetch();
  };

  return (
    <Panel title="Risk limits" meta={props.canEdit ? 'Desk admins change them' : 'Read only'}>
      <form class="inline-form" onSubmit={pickScope} aria-label="Risk limit scope">
        <InputField
          label="Instrument (empty: the whole desk)"
          id="risk-scope"
          name="scope"
          autocomplete="off"
          maxLength={64}
          placeholder="e.g. BTC-USD"
        />
        <button type="submit" class="btn">
          Show
        </button>
      </form>
      <QueryView query={limits} errorTitle="Could not load the risk limits">
        {(scopes) => (
          <>
            <Show when={scopes.length > 1 && symbol() === '*'}>
              <p class="dim">
                Instrument overrides:{' '}
                <For each={scopes.slice(1)}>
                  {(s) => (
                    <button
                      type="button"
                      class="btn btn-sm btn-ghost"
                      onClick={() => {
                        setSymbol(s.symbol);
                        void limits.refetch();
                      }}
                    >
                      {s.symbol}
                    </button>
                  )}
                </For>
              </p>
            </Show>
            <For each={symbol() === '*' ? scopes.slice(0, 1) : scopes.filter((s) => s.symbol === symbol())}>
              {(scope) => (
                <form
                  onSubmit={(e) => save(e, scope)}
                  aria-label={`Risk limits for ${scope.symbol === '*' ? 'the desk' : scope.symbol}`}
                >
                  <DataTable
                    label={`Risk limits: ${scope.symbol === '*' ? 'desk' : scope.symbol}`}
                    caption={
                      <>
                        {scope.symbol === '*'
                          ? 'Desk limits'
                          : `${scope.symbol} (overrides the desk's per-order limits)`}
                        {scope.restricted.value ? ' · restricted: no orders' : ''}
                      </>
                    }
                    tableAttrs={{ 'data-scope': scope.symbol }}
                    rows={fieldsOf(scope.symbol)}
                    rowAttrs={(f) => ({ 'data-field': f, 'data-source': scope.fields[f].source })}
                    columns={[
                      { id: 'limit', header: 'Limit', rowHeader: true, wrap: true, cell: (f) => LABELS[f] },
                      {
                        id: 'effective',
                        header: 'Effective',
                        numeric: true,
                        cell: (f) =>
                          scope.fields[f].value === null ? 'no limit' : exact(String(scope.fields[f].value)),
                      },
                      {
                        id: 'source',
                        header: 'Source',
                        wrap: true,
                        cell: (f) => (
                          <>
                            <span class={`tag ${scope.fields[f].source === 'removed' ? 'tag-warn' : ''}`}>
                              {SOURCE[scope.fields[f].source]}
                            </span>
                            <Show when={scope.fields[f].removal}>
                              {(r) => <span class="dim"> {r().at.slice(0, 16).replace('T', ' ')} UTC</span>}
                            </Show>
                          </>
                        ),
                      },
                      ...(props.canEdit
                        ? [
                            {
                              id: 'new',
                              header: 'New value',
                              cell: (f: LimitField) => (
                                <input
                                  class="table-input"
                                  name={f}
                                  aria-label={`New ${LABELS[f]}`}
                                  inputMode={INT_FIELDS.has(f) ? 'numeric' : 'decimal'}
                                  autocomplete="off"
                                />
                              ),
                            },
                          ]
                        : []),
                    ]}
                    {...(props.canEdit
                      ? {
                          actions: (f: LimitField) => (
                            <>
                              <Show
                                when={
                                  scope.fields[f].source !== 'default' &&
                                  !(scope.symbol !== '*' && scope.fields[f].source === 'desk')
                                }
                              >
                                <button
                                  type="button"
                                  class="btn btn-sm"
                                  disabled={pending()}
                                  onClick={() =>
                                    void change(`${LABELS[f]} reset.`, () =>
                                      trpc.risk.limits.reset.mutate({ symbol: scope.symbol, field: f }),
                                    )
                                  }
                                >
                                  Reset
                                </button>
                              </Show>
                              <Show when={scope.fields[f].source !== 'removed'}>
                                <Show
                                  when={confirmRemove() === f}
                                  fallback={
                                    <button
                                      type="button"
                                      class="btn btn-sm"
                                      onClick={() => setConfirmRemove(f)}
                                    >
                                      Remove
                                    </button>
                                  }
                                >
                                  <button
                                    type="button"
                                    class="btn btn-sm btn-danger"
                                    disabled={pending()}
                                    onClick={() =>
                                      void change(`${LABELS[f]} removed: no limit.`, () =>
                                        trpc.risk.limits.remove.mutate({
                                          symbol: scope.symbol,
                                          field: f,
                                        }),
                                      )
                                    }
                                  >
                                    Confirm: no limit
                                  </button>
                                  <button
                                    type="button"
                                    class="btn btn-sm"
                                    onClick={() => setConfirmRemove(null)}
                                  >
                                    Keep
                                  </button>
                                </Show>
                              </Show>
                            </>
                          ),
                        }
                      : {})}
                  />
                  <Show when={props.canEdit}>
                    <div class="panel-body">
                      <button type="submit" class="btn btn-primary" disabled={pending()}>
                        {pending() ? 'Saving…' : 'Save new values'}
                      </button>
                    </div>
                  </Show>
                </form>
              )}
            </For>
          </>
        )}
      </QueryView>
      <div class="panel-body">
        <Show when={props.canEdit}>
          {/* Outside the table's form so a refetch never clears it mid-edit; cleared after a change. */}
          <div class="field">
            <label for="risk-password">Your password (required for every change)</label>
            <input id="risk-password" ref={passwordInput} type="password" autocomplete="current-password" />
          </div>
        </Show>
        <ErrorAlert message={error()} />
        <Show when={notice()}>
          <div class="alert alert-info" role="status">
            {notice()}
          </div>
        </Show>
      </div>
    </Panel>
  );
}
