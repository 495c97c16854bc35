import { type Accessor, createEffect, createSignal, For, on, onCleanup, Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal-format.ts';
import { isHalted, useLiveHalt } from '../lib/live-halt.ts';
import { createLiveOrder, orderStatusText } from '../lib/live-order.ts';
import { createLiveQuotes } from '../lib/live-quotes.ts';
import { errorMessageOf, type RouterInputs, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { AccountSelect, brokerConnectionIdOf } from './account-select.tsx';
import { ErrorAlert } from './error-alert.tsx';
import { InputField, SelectField } from './input-field.tsx';
import { QuoteStrip } from './quote-strip.tsx';
import { RuleVerdicts } from './rule-verdicts.tsx';

type OrderInput = RouterInputs['orders']['place']['order'];
type Check = RouterOutputs['risk']['check'];
type Placed = RouterOutputs['orders']['place'];

/** A price picked elsewhere (a click on the ladder): the ticket takes it as its limit price. */
export interface TicketFill {
  readonly price: string;
  readonly side: 'buy' | 'sell';
  readonly symbol?: string;
  /** Changes on every pick, so picking the same level twice fills it again. */
  readonly seq: number;
}

const SYMBOL_SHAPE = /^[A-Za-z0-9._:/-]{1,64}$/;

/**
 * Manual order ticket, two steps: "Review" asks the risk governor what it would say (risk.check,
 * nothing written) and shows every rule's verdict; "Confirm" places the order. The idempotency
 * key is drawn when the ticket is reviewed and kept until the order is accepted or the ticket
 * changes, so a retry after a network failure can never place the order twice.
 */
export function OrderTicket(props: {
  onPlaced: (order: Placed) => void;
  /** The symbol the ticket starts with (the instrument page's). */
  symbol?: string;
  /** Limit price (and side) picked on the ladder. */
  fill?: Accessor<TicketFill | undefined>;
}) {
  const [review, setReview] = createSignal<{ order: OrderInput; check: Check; key: string }>();
  const [result, setResult] = createSignal<Placed>();
  const [error, setError] = createSignal<string>();
  const [pending, setPending] = createSignal(false);
  // The placed order as it is now (fills, rejection), not as the mutation answered.
  const placed = createLiveOrder(result);
  const halt = useLiveHalt();
  const [orderType, setOrderType] = createSignal<'market' | 'limit'>('limit');
  let form: HTMLFormElement | undefined;

  // The live quote of the symbol typed (debounced: each keystroke is not a new stream).
  const [symbol, setSymbol] = createSignal((props.symbol ?? '').trim().toUpperCase());
  let symbolTimer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(symbolTimer));
  const onSymbolInput = (value: string) => {
    clearTimeout(symbolTimer);
    symbolTimer = setTimeout(() => setSymbol(value.trim().toUpperCase()), 300);
  };
  const live = createLiveQuotes(() => (SYMBOL_SHAPE.test(symbol()) ? [symbol()] : []));
  const quote = () => live.quotes().get(symbol());

  const setField = (name: string, value: string) => {
    const field = form?.elements.namedItem(name);
    if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement) field.value = value;
    else if (field instanceof RadioNodeList) field.value = value;
  };
  createEffect(
    on(
      () => props.fill?.(),
      (fill) => {
        if (!fill || !form) return;
        if (fill.symbol) {
          setField('symbol', fill.symbol);
          setSymbol(fill.symbol);
        }
        if (orderType() !== 'limit') {
          setField('orderType', 'limit');
          setOrderType('limit');
        }
        setField('side', fill.side);
        setField('limitPrice', fill.price);
        edited();
      },
      { defer: true },
    ),
  );

  const readOrder = (): OrderInput => {
    const data = new FormData(form);
    const type = orderType();
    const limit = String(data.get('limitPrice') ?? '').trim();
    return {
      symbol: String(data.get('symbol') ?? '')
        .trim()
        .toUpperCase(),
      side: data.get('side') === 'sell' ? 'sell' : 'buy',
      orderType: type,
      timeInForce: String(data.get('timeInForce') ?? 'day') as OrderInput['timeInForce'],
      quantity: String(data.get('quantity') ?? '').trim(),
      ...(type === 'limit' ? { limitPrice: limit } : {}),
      // The paper account (null) or a linked broker connection: risk checks and routing use it.
      brokerConnectionId: brokerConnectionIdOf(String(data.get('brokerConnectionId') ?? '')),
    };
  };

  const onReview = async (event: SubmitEvent) => {
    event.preventDefault();
    setPending(true);
    setError(undefined);
    setResult(undefined);
    try {
      const order = readOrder();
      const check = await trpc.risk.check.query(order);
      setReview({ order, check, key: crypto.randomUUID() });
    } catch (e) {
      setError(errorMessageOf(e));
    } finally {
      setPending(false);
    }
  };

  // A halt engaged or released while a review is open changes the governor's answer: ask again
  // (same order, same key) so the review never shows a verdict the switch has overtaken.
  createEffect(
    on(
      () => isHalted(halt.state()),
      () => {
        const r = review();
        if (!r) return;
        trpc.risk.check
          .query(r.order)
          .then((check) => {
            if (review() === r) setReview({ ...r, check });
          })
          .catch((e: unknown) => setError(errorMessageOf(e)));
      },
      { defer: true },
    ),
  );

  const onConfirm = async () => {
    const r = review();
    if (!r) return;
    setPending(true);
    setError(undefined);
    try {
      const placed = await trpc.orders.place.mutate({ idempotencyKey: r.key, order: r.order });
      setResult(placed);
      setReview(undefined);
      props.onPlaced(placed);
    } catch (e) {
      // Keep the review (and its key): confirming again retries the same order.
      setError(errorMessageOf(e));
    } finally {
      setPending(false);
    }
  };

  // The review names the account by its option text: exactly what the trader chose.
  const accountName = (id: string | null | undefined): string => {
    const select = form?.elements.namedItem('brokerConnectionId');
    const option = select instanceof HTMLSelectElement ? select.selectedOptions[0] : undefined;
    return id ? `to ${option?.textContent ?? id}` : 'to the paper account';
  };

  // Any edit invalidates the review: a new key is drawn on the next review.
  const edited = () => {
    setReview(undefined);
    setResult(undefined);
  };

  return (
    <div class="ticket">
      <form ref={form} class="ticket-form" onSubmit={onReview} onInput={edited} aria-label="Order ticket">
        <fieldset class="side-toggle">
          <legend class="visually-hidden">Side</legend>
          <label class="side side-buy">
            <input type="radio" name="side" value="buy" checked />
            Buy
          </label>
          <label class="side side-sell">
            <input type="radio" name="side" value="sell" />
            Sell
          </label>
        </fieldset>
        <AccountSelect id="ticket-account" />
        <InputField
          label="Symbol"
          id="ticket-symbol"
          name="symbol"
          required
          maxLength={64}
          autocomplete="off"
          placeholder="BTC-USD"
          value={props.symbol ?? ''}
          onInput={(e) => onSymbolInput(e.currentTarget.value)}
        />
        <Show when={symbol() !== ''}>
          <div class="ticket-quote" aria-live="off">
            <QuoteStrip quote={quote()} live={live.live()} compact label={`Live quote ${symbol()}`} />
            <Show when={live.unknown().length > 0}>
              <p class="ticket-quote-note">
                No instrument {symbol()}
                <Show when={(live.unknown()[0]?.suggestions.length ?? 0) > 0}>
                  {' '}
                  — did you mean{' '}
                  <For each={live.unknown()[0]?.suggestions ?? []}>
                    {(s, i) => (
                      <>
                        {i() > 0 ? ', ' : ''}
                        <button
                          type="button"
                          class="link-button"
                          onClick={() => {
                            setField('symbol', s);
                            setSymbol(s);
                            edited();
                          }}
                        >
                          {s}
                        </button>
                      </>
                    )}
                  </For>
                  ?
                </Show>
              </p>
            </Show>
            <Show when={live.unknown().length === 0 && live.error()}>
              <p class="ticket-quote-note">No live quote: {live.error()}</p>
            </Show>
          </div>
        </Show>
        <div class="ticket-row">
          <SelectField
            label="Type"
            id="ticket-type"
            name="orderType"
            class="select"
            onChange={(e) => setOrderType(e.currentTarget.value === 'market' ? 'market' : 'limit')}
          >
            <option value="limit">limit</option>
            <option value="market">market</option>
          </SelectField>
          <SelectField label="Time in force" id="ticket-tif" name="timeInForce" class="select">
            <option value="day">day</option>
            <option value="ioc">ioc</option>
            <option value="fok">fok</option>
            <Show when={orderType() === 'limit'}>
              <option value="gtc">gtc</option>
            </Show>
          </SelectField>
        </div>
        <div class="ticket-row">
          <InputField
            label="Quantity"
            id="ticket-qty"
            name="quantity"
            required
            inputmode="decimal"
            pattern="[0-9]+(\.[0-9]{1,12})?"
            autocomplete="off"
          />
          <InputField
            label="Limit price"
            id="ticket-limit"
            name="limitPrice"
            inputmode="decimal"
            pattern="[0-9]+(\.[0-9]{1,12})?"
            autocomplete="off"
            required={orderType() === 'limit'}
            disabled={orderType() === 'market'}
          />
        </div>
        <button type="submit" class="btn btn-block" disabled={pending()}>
          {pending() && !review() ? 'Checking…' : 'Review order'}
        </button>
      </form>

      <ErrorAlert message={error()} />

      <Show when={review()}>
        {(r) => (
          <section class="ticket-review" aria-label="Order review">
            <div class="ticket-summary">
              <span class={r().order.side === 'buy' ? 'pos' : 'neg'}>{r().order.side.toUpperCase()}</span>{' '}
              <span class="mono">{formatDecimal(r().order.quantity, 4)}</span>{' '}
              <span class="mono">{r().order.symbol}</span>{' '}
              <span class="dim">
                {r().order.orderType === 'limit'
                  ? `@ ${formatDecimal(r().order.limitPrice ?? null, 4)}`
                  : 'at market'}{' '}
                · {r().order.timeInForce}
              </span>
              <div class="dim">{accountName(r().order.brokerConnectionId)}</div>
            </div>
            <div class={`tag ${r().check.allowed ? 'tag-ok' : 'tag-bad'}`} role="status">
              {r().check.allowed ? 'Risk checks pass' : 'The risk governor would deny this order'}
            </div>
            <RuleVerdicts verdicts={r().check.verdicts} />
            <Show
              when={r().check.allowed}
              fallback={
                // Nothing is sent while the governor would deny it: confirming would only record
                // a denied order. The order is re-checked when the halt changes.
                <p class="alert alert-error" role="note">
                  {isHalted(halt.state())
                    ? 'Trading is halted: only orders that reduce a position pass. Change the order, or ask a desk admin to release the halt.'
                    : 'Change the order so that every check passes; nothing is sent while the governor would deny it.'}
                </p>
              }
            >
              <button
                type="button"
                class={`btn btn-block ${r().order.side === 'buy' ? 'btn-buy' : 'btn-sell'}`}
                disabled={pending()}
                onClick={() => void onConfirm()}
              >
                {pending()
                  ? 'Placing…'
                  : `Confirm ${r().order.side} ${r().order.quantity} ${r().order.symbol}`}
              </button>
            </Show>
          </section>
        )}
      </Show>

      <Show when={placed()}>
        {(o) => (
          <div
            class={`alert ${['denied', 'rejected', 'unknown'].includes(o().status) ? 'alert-error' : 'alert-info'}`}
            role="status"
            title={`client order id ${o().clientOrderId}`}
          >
            Order {orderStatusText(o())}
          </div>
        )}
      </Show>
    </div>
  );
}
