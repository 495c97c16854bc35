/*
 * One piece, over 400 lines: the vertical builder is a single form whose inputs all feed each
 * other (strikes → legs → mids → the prefilled net limit → the outcome → the governor's check →
 * the idempotency key of Place). Split across files, each part would take most of the others'
 * signals as props. The placed combo's status is apart (combo-status.tsx), as is the arithmetic
 * (lib/option-vertical.ts).
 */
import { type Accessor, createEffect, createMemo, createSignal, For, on, Show } from 'solid-js';
import { formatDecimal } from '../../lib/decimal-format.ts';
import { priceDecimals, toNumber } from '../../lib/live-quotes.ts';
import { netMid, netNatural, verticalOutcome } from '../../lib/option-vertical.ts';
import { errorMessageOf, type RouterInputs, type RouterOutputs, trpc } from '../../lib/trpc.ts';

type ComboView = RouterOutputs['orders']['placeCombo'];
type ComboCheck = RouterOutputs['orders']['checkCombo'];
type ComboInput = RouterInputs['orders']['checkCombo'];

import { ErrorAlert } from '../error-alert.tsx';
import { InputField, SelectField } from '../input-field.tsx';
import { RuleVerdicts } from '../rule-verdicts.tsx';
import { ComboStatus } from './combo-status.tsx';
import type { ChainContract } from './option-chain-table.tsx';

/** A vertical handed to the builder (from a recommendation or the chain); `seq` changes per load. */
export interface VerticalDraft {
  readonly expiry?: string;
  readonly right?: 'call' | 'put';
  readonly longStrike?: string;
  readonly shortStrike?: string;
  readonly quantity?: string;
  readonly netPrice?: string;
  readonly seq: number;
}

const DECIMAL = /^\d+(\.\d{1,12})?$/;
const SIGNED = /^-?\d+(\.\d{1,12})?$/;

/**
 * Verticals, built by hand: expiry, right, long and short strikes from the chain, quantity and a
 * net limit (prefilled from the mids, kept once edited). Shows the net debit or credit, maximum
 * loss and gain and the breakeven (exact decimals, lib/option-vertical.ts), then places the
 * combo with `orders.placeCombo`. The idempotency key is drawn on Place and kept until the server
 * answers or the draft changes, so pressing Place again after a network failure cannot place it
 * twice.
 */
export function VerticalBuilder(props: {
  symbol: string;
  expiries: readonly string[];
  expiry: string | null;
  onExpiry: (expiry: string) => void;
  /** The chain's contracts of `expiry`. */
  contracts: readonly ChainContract[];
  multiplier: string;
  draft: Accessor<VerticalDraft | undefined>;
  canTrade: boolean;
  onPlaced: (combo: ComboView) => void;
}) {
  const [right, setRight] = createSignal<'call' | 'put'>('call');
  const [longStrike, setLongStrike] = createSignal('');
  const [shortStrike, setShortStrike] = createSignal('');
  const [quantity, setQuantity] = createSignal('1');
  const [limit, setLimit] = createSignal('');
  const [limitEdited, setLimitEdited] = createSignal(false);
  const [key, setKey] = createSignal<string>();
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const [placed, setPlaced] = createSignal<ComboView>();
  const [check, setCheck] = createSignal<{ input: ComboInput; result: ComboCheck }>();

  const edited = () => {
    setKey(undefined);
    setError(undefined);
    setCheck(undefined);
  };

  const ofRight = createMemo(() =>
    props.contracts
      .filter((c) => c.right === right())
      .sort((a, b) => (toNumber(a.strike) ?? 0) - (toNumber(b.strike) ?? 0)),
  );
  const contractAt = (strike: string) => ofRight().find((c) => c.strike === strike);
  const longLeg = () => contractAt(longStrike());
  const shortLeg = () => contractAt(shortStrike());
  const decimals = () =>
    Math.min(4, Math.max(2, priceDecimals(longLeg()?.mid), priceDecimals(shortLeg()?.mid)));

  // The limit follows the mids until the trader types one.
  createEffect(() => {
    const m = netMid(longLeg()?.mid ?? null, shortLeg()?.mid ?? null, decimals());
    if (!limitEdited() && m !== null) setLimit(m);
  });

  // A load (recommendation or chain pick) replaces the draft.
  createEffect(
    on(
      props.draft,
      (d) => {
        if (!d) return;
        if (d.expiry && d.expiry !== props.expiry) props.onExpiry(d.expiry);
        if (d.right) setRight(d.right);
        if (d.longStrike !== undefined) setLongStrike(d.longStrike);
        if (d.shortStrike !== undefined) setShortStrike(d.shortStrike);
        if (d.quantity) setQuantity(d.quantity);
        if (d.netPrice) {
          setLimit(d.netPrice);
          setLimitEdited(true);
        } else setLimitEdited(false);
        setPlaced(undefined);
        edited();
      },
      { defer: true },
    ),
  );

  const outcome = createMemo(() =>
    longStrike() && shortStrike() && SIGNED.test(limit().trim()) && DECIMAL.test(quantity().trim())
      ? verticalOutcome({
          right: right(),
          longStrike: longStrike(),
          shortStrike: shortStrike(),
          netPrice: limit().trim(),
          quantity: quantity().trim(),
          multiplier: props.multiplier,
        })
      : null,
  );

  const problem = (): string | undefined => {
    if (!longLeg() || !shortLeg()) return 'Pick a long and a short strike.';
    if (longStrike() === shortStrike()) return 'The two strikes must differ.';
    if (!DECIMAL.test(quantity().trim()) || /^0*(\.0*)?$/.test(quantity().trim()))
      return 'Quantity: a positive number of spreads.';
    if (!SIGNED.test(limit().trim())) return 'Net limit: a price like 1.25 (debit) or -0.80 (credit).';
    return undefined;
  };

  const comboInput = (): ComboInput | undefined => {
    const long = longLeg();
    const short = shortLeg();
    if (problem() || !long || !short) return undefined;
    return {
      strategy: 'vertical',
      legs: [
        { symbol: long.symbol, side: 'buy', ratio: 1 },
        { symbol: short.symbol, side: 'sell', ratio: 1 },
      ],
      quantity: quantity().trim(),
      orderType: 'limit',
      netLimitPrice: limit().trim(),
      timeInForce: 'day',
    };
  };

  /** The governor's verdict on the draft, nothing written (orders.checkCombo). */
  const runCheck = async () => {
    const input = comboInput();
    if (!input) return;
    setPending(true);
    setError(undefined);
    try {
      setCheck({ input, result: await trpc.orders.checkCombo.query(input) });
    } catch (e) {
      setError(errorMessageOf(e));
    } finally {
      setPending(false);
    }
  };

  const place = async () => {
    const combo = comboInput();
    if (!combo) return;
    const idempotencyKey = key() ?? crypto.randomUUID();
    setKey(idempotencyKey);
    setPending(true);
    setError(undefined);
    try {
      const result = await trpc.orders.placeCombo.mutate({ idempotencyKey, combo });
      setPlaced(result);
      setCheck(undefined);
      // The server has answered for this key (accepted, filled or denied): the next Place is a
      // new order and draws a new key. Only an unanswered attempt keeps it, for its retry.
      setKey(undefined);
      props.onPlaced(result);
    } catch (e) {
      // The key is kept: Place again retries the same combo.
      setError(errorMessageOf(e));
    } finally {
      setPending(false);
    }
  };

  const strikeOptions = () => ofRight().map((c) => c.strike);
  /** A strike picked by hand: the limit is prefilled again, and the last check and key are stale. */
  const pickStrike = (set: (strike: string) => void) => (strike: string) => {
    set(strike);
    setLimitEdited(false);
    edited();
  };
  const o = outcome;
  return (
    <div class="builder">
      <form
        class="builder-form"
        aria-label="Vertical spread"
        onSubmit={(e) => {
          e.preventDefault();
          void place();
        }}
      >
        <div class="builder-grid">
          <SelectField
            label="Expiry"
            id="builder-expiry"
            class="select"
            onChange={(e) => {
              props.onExpiry(e.currentTarget.value);
              edited();
            }}
          >
            <For each={props.expiries}>
              {(x) => (
                <option value={x} selected={x === props.expiry}>
                  {x}
                </option>
              )}
            </For>
          </SelectField>
          <SelectField
            label="Right"
            id="builder-right"
            class="select"
            value={right()}
            onChange={(e) => {
              setRight(e.currentTarget.value === 'put' ? 'put' : 'call');
              setLimitEdited(false);
              edited();
            }}
          >
            <option value="call">call</option>
            <option value="put">put</option>
          </SelectField>
          <StrikeSelect
            label="Long strike (buy)"
            id="builder-long"
            strikes={strikeOptions()}
            selected={longStrike()}
            onPick={pickStrike(setLongStrike)}
          />
          <StrikeSelect
            label="Short strike (sell)"
            id="builder-short"
            strikes={strikeOptions()}
            selected={shortStrike()}
            onPick={pickStrike(setShortStrike)}
          />
        </div>
        <div class="builder-price-row">
          <InputField
            label="Quantity (spreads)"
            id="builder-qty"
            inputmode="decimal"
            autocomplete="off"
            value={quantity()}
            onInput={(e) => {
              setQuantity(e.currentTarget.value);
              edited();
            }}
          />
          <div class="field">
            <label for="builder-limit">Net limit (+ debit / − credit)</label>
            <div class="builder-limit">
              <input
                id="builder-limit"
                inputmode="decimal"
                autocomplete="off"
                value={limit()}
                onInput={(e) => {
                  setLimit(e.currentTarget.value);
                  setLimitEdited(true);
                  edited();
                }}
              />
              <button
                type="button"
                class="btn btn-sm"
                title="Long mid less short mid"
                disabled={netMid(longLeg()?.mid ?? null, shortLeg()?.mid ?? null, decimals()) === null}
                onClick={() => {
                  setLimit(netMid(longLeg()?.mid ?? null, shortLeg()?.mid ?? null, decimals()) ?? limit());
                  setLimitEdited(true);
                  edited();
                }}
              >
                Mid
              </button>
              <button
                type="button"
                class="btn btn-sm"
                title="Long ask less short bid: marketable on both legs"
                disabled={netNatural(longLeg()?.ask ?? null, shortLeg()?.bid ?? null) === null}
                onClick={() => {
                  setLimit(netNatural(longLeg()?.ask ?? null, shortLeg()?.bid ?? null) ?? limit());
                  setLimitEdited(true);
                  edited();
                }}
              >
                Natural
              </button>
            </div>
          </div>
        </div>

        <div class="builder-legs">
          <LegLine label="Buy" contract={longLeg()} decimals={decimals()} />
          <LegLine label="Sell" contract={shortLeg()} decimals={decimals()} />
        </div>

        <dl class="rec-figures builder-figures" aria-label="Vertical at expiry">
          <div>
            <dt>{o()?.kind === 'credit' ? 'Net credit' : 'Net debit'}</dt>
            <dd class="mono" data-field="net-cash" data-value={o()?.netCash ?? ''}>
              {formatDecimal(o()?.netCash ?? null, 2)}
            </dd>
          </div>
          <div>
            <dt>Max loss</dt>
            <dd class="mono neg" data-field="max-loss" data-value={o()?.maxLoss ?? ''}>
              {formatDecimal(o()?.maxLoss ?? null, 2)}
            </dd>
          </div>
          <div>
            <dt>Max gain</dt>
            <dd class="mono pos" data-field="max-gain" data-value={o()?.maxGain ?? ''}>
              {formatDecimal(o()?.maxGain ?? null, 2)}
            </dd>
          </div>
          <div>
            <dt>Breakeven</dt>
            <dd class="mono" data-field="breakeven" data-value={o()?.breakeven ?? ''}>
              {formatDecimal(o()?.breakeven ?? null, decimals())}
            </dd>
          </div>
        </dl>
        <p class="field-hint">
          Per spread × {formatDecimal(props.multiplier, 0)} multiplier. Click a contract in the chain: first
          the long leg, then the short.
        </p>
        <Show when={check()}>
          {(c) => (
            <section class="builder-check" aria-label="Governor check">
              <div class={`tag ${c().result.allowed ? 'tag-ok' : 'tag-bad'}`} role="status">
                {c().result.allowed ? 'Risk checks pass' : 'The risk governor would deny this combo'}
                <Show when={c().result.maxLoss}> · max loss {formatDecimal(c().result.maxLoss, 2)}</Show>
              </div>
              <RuleVerdicts verdicts={c().result.verdicts} />
            </section>
          )}
        </Show>
        <div class="builder-actions">
          <button
            type="button"
            class="btn"
            disabled={pending() || problem() !== undefined}
            title={problem() ?? 'Ask the risk governor (nothing is placed)'}
            onClick={() => void runCheck()}
          >
            Check
          </button>
          <Show when={props.canTrade} fallback={<p class="dim">Placing combos needs the trader role.</p>}>
            <button
              type="submit"
              class="btn btn-primary"
              disabled={pending() || problem() !== undefined}
              title={problem()}
            >
              {pending()
                ? 'Working…'
                : `Place ${quantity().trim() || '?'} × ${longStrike() || '?'}/${shortStrike() || '?'} ${right()} vertical`}
            </button>
          </Show>
        </div>
      </form>
      <ErrorAlert message={error()} />
      <Show when={placed()}>{(c) => <ComboStatus combo={c()} />}</Show>
    </div>
  );
}

/** The strike of one leg: "—" (none yet), then the chain's strikes of the chosen right. */
function StrikeSelect(props: {
  label: string;
  id: string;
  strikes: readonly string[];
  selected: string;
  onPick: (strike: string) => void;
}) {
  return (
    <SelectField
      label={props.label}
      id={props.id}
      class="select"
      onChange={(e) => props.onPick(e.currentTarget.value)}
    >
      <option value="">—</option>
      <For each={props.strikes}>
        {(k) => (
          <option value={k} selected={k === props.selected}>
            {k}
          </option>
        )}
      </For>
    </SelectField>
  );
}

function LegLine(props: { label: string; contract: ChainContract | undefined; decimals: number }) {
  return (
    <div class="builder-leg" data-leg={props.label.toLowerCase()} data-symbol={props.contract?.symbol ?? ''}>
      <span class={props.label === 'Buy' ? 'pos' : 'neg'}>{props.label}</span>
      <span class="mono">{props.contract?.symbol ?? '—'}</span>
      <span class="mono dim">
        {props.contract
          ? `${formatDecimal(props.contract.bid, props.decimals)} × ${formatDecimal(props.contract.ask, props.decimals)}`
          : ''}
      </span>
    </div>
  );
}
