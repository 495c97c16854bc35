import { type Accessor, createEffect, createMemo, createSignal, For, on, onCleanup, Show } from 'solid-js';
import { formatDecimal } from '../../lib/decimal-format.ts';
import { priceDecimals, toNumber } from '../../lib/live-quotes.ts';
import { netMid, netNatural, verticalOutcome } from '../../lib/option-vertical.ts';
import { errorMessageOf, type RouterOutputs, trpc } from '../../lib/trpc.ts';

type ComboView = RouterOutputs['orders']['placeCombo'];

import { ErrorAlert } from '../error-alert.tsx';
import { RuleVerdicts } from '../rule-verdicts.tsx';
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

  const edited = () => {
    setKey(undefined);
    setError(undefined);
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

  const place = async () => {
    const long = longLeg();
    const short = shortLeg();
    if (problem() || !long || !short) return;
    const idempotencyKey = key() ?? crypto.randomUUID();
    setKey(idempotencyKey);
    setPending(true);
    setError(undefined);
    try {
      const combo = await trpc.orders.placeCombo.mutate({
        idempotencyKey,
        combo: {
          strategy: 'vertical',
          legs: [
            { symbol: long.symbol, side: 'buy', ratio: 1 },
            { symbol: short.symbol, side: 'sell', ratio: 1 },
          ],
          quantity: quantity().trim(),
          orderType: 'limit',
          netLimitPrice: limit().trim(),
          timeInForce: 'day',
        },
      });
      setPlaced(combo);
      // The server has answered for this key (accepted, filled or denied): the next Place is a
      // new order and draws a new key. Only an unanswered attempt keeps it, for its retry.
      setKey(undefined);
      props.onPlaced(combo);
    } catch (e) {
      // The key is kept: Place again retries the same combo.
      setError(errorMessageOf(e));
    } finally {
      setPending(false);
    }
  };

  const strikeOptions = () => ofRight().map((c) => c.strike);
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
          <div class="field">
            <label for="builder-expiry">Expiry</label>
            <select
              id="builder-expiry"
              class="select"
              value={props.expiry ?? ''}
              onChange={(e) => {
                props.onExpiry(e.currentTarget.value);
                edited();
              }}
            >
              <For each={props.expiries}>{(x) => <option value={x}>{x}</option>}</For>
            </select>
          </div>
          <div class="field">
            <label for="builder-right">Right</label>
            <select
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
            </select>
          </div>
          <div class="field">
            <label for="builder-long">Long strike (buy)</label>
            <select
              id="builder-long"
              class="select"
              value={longStrike()}
              onChange={(e) => {
                setLongStrike(e.currentTarget.value);
                setLimitEdited(false);
                edited();
              }}
            >
              <option value="">—</option>
              <For each={strikeOptions()}>{(k) => <option value={k}>{k}</option>}</For>
            </select>
          </div>
          <div class="field">
            <label for="builder-short">Short strike (sell)</label>
            <select
              id="builder-short"
              class="select"
              value={shortStrike()}
              onChange={(e) => {
                setShortStrike(e.currentTarget.value);
                setLimitEdited(false);
                edited();
              }}
            >
              <option value="">—</option>
              <For each={strikeOptions()}>{(k) => <option value={k}>{k}</option>}</For>
            </select>
          </div>
          <div class="field">
            <label for="builder-qty">Quantity (spreads)</label>
            <input
              id="builder-qty"
              inputmode="decimal"
              autocomplete="off"
              value={quantity()}
              onInput={(e) => {
                setQuantity(e.currentTarget.value);
                edited();
              }}
            />
          </div>
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
        <Show when={props.canTrade} fallback={<p class="dim">Placing combos needs the trader role.</p>}>
          <button
            type="submit"
            class="btn btn-primary btn-block"
            disabled={pending() || problem() !== undefined}
            title={problem()}
          >
            {pending()
              ? 'Placing…'
              : `Place ${quantity().trim() || '?'} × ${longStrike() || '?'}/${shortStrike() || '?'} ${right()} vertical`}
          </button>
        </Show>
      </form>
      <ErrorAlert message={error()} />
      <Show when={placed()}>{(c) => <ComboStatus combo={c()} />}</Show>
    </div>
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

const FINAL = new Set(['filled', 'cancelled', 'rejected', 'denied', 'expired']);

/**
 * The placed combo: its status, the net price it filled at, each leg, or the governor's denial.
 * While working, its legs are re-read (orders.get) until they reach a final state; the legs of
 * a combo move together (all-or-none), so their common status is the combo's.
 */
export function ComboStatus(props: { combo: ComboView }) {
  const [legs, setLegs] = createSignal<ReadonlyMap<string, string>>(new Map());
  const legStatus = (leg: ComboView['legs'][number]) => legs().get(leg.id) ?? leg.status;
  const status = () => {
    const now = props.combo.legs.map(legStatus);
    const same = now.length > 0 && now.every((x) => x === now[0]);
    return same && now[0] !== props.combo.status && !FINAL.has(props.combo.status)
      ? now[0]!
      : props.combo.status;
  };
  createEffect(
    on(
      () => props.combo.id,
      () => {
        setLegs(new Map());
        let stopped = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const poll = async () => {
          if (stopped || FINAL.has(status())) return;
          try {
            const read = await Promise.all(props.combo.legs.map((l) => trpc.orders.get.query({ id: l.id })));
            if (!stopped) setLegs(new Map(read.map((r) => [r.order.id, r.order.status])));
          } catch {
            // A failed read keeps the last status; the next poll tries again.
          }
          if (!stopped && !FINAL.has(status())) timer = setTimeout(() => void poll(), 1_000);
        };
        timer = setTimeout(() => void poll(), 500);
        onCleanup(() => {
          stopped = true;
          clearTimeout(timer);
        });
      },
    ),
  );
  const c = () => props.combo;
  const bad = () => status() === 'denied' || status() === 'rejected';
  return (
    <section
      class={`alert ${bad() ? 'alert-error' : 'alert-info'} combo-status`}
      aria-label="Combo order"
      data-combo-id={c().id}
      data-status={status()}
    >
      <div>
        Combo <b data-field="combo-status">{status().replaceAll('_', ' ')}</b>
        <Show when={c().avgNetPrice}>
          {' '}
          at <span class="mono">{formatDecimal(c().avgNetPrice, 4)}</span> net
        </Show>
        <Show when={c().maxLoss}>
          <span class="dim"> · max loss {formatDecimal(c().maxLoss, 2)}</span>
        </Show>
        <ul class="combo-legs">
          <For each={c().legs}>
            {(leg) => (
              <li data-symbol={leg.symbol} data-order-id={leg.id} data-status={legStatus(leg)}>
                <span class={leg.side === 'buy' ? 'pos' : 'neg'}>{leg.side}</span>{' '}
                <span class="mono">{leg.symbol}</span>{' '}
                <span class="dim">{legStatus(leg).replaceAll('_', ' ')}</span>
              </li>
            )}
          </For>
        </ul>
        <Show when={c().denial}>{(v) => <RuleVerdicts verdicts={v()} />}</Show>
      </div>
    </section>
  );
}
