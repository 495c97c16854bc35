import { createMemo, For, Index, type JSX, Show } from 'solid-js';
import { formatDecimal } from '../../lib/decimal-format.ts';
import { priceDecimals, toNumber } from '../../lib/live-quotes.ts';
import { formatCount } from '../../lib/metric-format.ts';
import { atmStrike, type ChainContract, type StrikeRow, strikeRows } from '../../lib/option-chain-rows.ts';
import {
  exclusionReason,
  formatGreek,
  formatVol,
  liquidityBand,
  liquidityHeat,
} from '../../lib/option-format.ts';
import type { RouterOutputs } from '../../lib/trpc.ts';

export type { ChainContract };

type Chain = RouterOutputs['marketData']['chain'];

interface Column {
  readonly key: string;
  readonly head: string;
  readonly title: string;
  readonly cell: (c: ChainContract, decimals: number) => JSX.Element;
}

const COLUMNS: readonly Column[] = [
  { key: 'bid', head: 'Bid', title: 'Bid', cell: (c, d) => formatDecimal(c.bid, d) },
  { key: 'ask', head: 'Ask', title: 'Ask', cell: (c, d) => formatDecimal(c.ask, d) },
  { key: 'mid', head: 'Mid', title: 'Mid price', cell: (c, d) => formatDecimal(c.mid, d) },
  {
    key: 'iv',
    head: 'IV',
    title: 'Implied volatility from the mid, in vol points',
    cell: (c) => formatVol(c.iv, 1),
  },
  {
    key: 'delta',
    head: 'Δ',
    title: 'Delta per 1 of the underlying',
    cell: (c) => formatGreek(c.greeks?.delta, 3),
  },
  { key: 'gamma', head: 'Γ', title: 'Gamma', cell: (c) => formatGreek(c.greeks?.gamma, 4) },
  { key: 'theta', head: 'Θ', title: 'Theta per calendar day', cell: (c) => formatGreek(c.greeks?.theta, 3) },
  {
    key: 'vega',
    head: 'Vega',
    title: 'Vega per 1.00 of volatility',
    cell: (c) => formatGreek(c.greeks?.vega, 2),
  },
  { key: 'oi', head: 'OI', title: 'Open interest', cell: (c) => formatCount(c.openInterest) },
  { key: 'volume', head: 'Vol', title: 'Volume today', cell: (c) => formatCount(c.volume) },
];

/**
 * The chain of one expiry as a trader reads it: calls on the left, the strike in the middle, puts
 * on the right, each side mirrored so bid and ask sit next to the strike. The liquidity column is
 * a heat scale (brighter = more liquid) with its score printed; contracts the active filters
 * exclude are dimmed, the reason in their title; the at-the-money strike is highlighted. A click
 * on a contract hands it to the strategy builder.
 */
export function OptionChainTable(props: {
  chain: Chain;
  expiry: string | null;
  side: 'both' | 'call' | 'put';
  onPick?: (contract: ChainContract) => void;
}) {
  const rows = createMemo(() => strikeRows(props.chain.contracts, props.expiry));
  const atm = createMemo(() => atmStrike(rows(), props.chain.underlyingPrice));
  const decimals = createMemo(() =>
    Math.min(
      4,
      Math.max(2, ...props.chain.contracts.slice(0, 40).map((c) => priceDecimals(c.mid ?? c.bid ?? null))),
    ),
  );
  const callCols = () => [...COLUMNS].reverse();
  const showCalls = () => props.side !== 'put';
  const showPuts = () => props.side !== 'call';

  // One side of a row: every cell carries the contract's symbol, its exclusion (dimmed, the
  // reason in the title) and in-the-money shading; a click hands the contract to the builder.
  const cells = (row: StrikeRow, right: 'call' | 'put') => {
    const c = right === 'call' ? row.call : row.put;
    const s = toNumber(props.chain.underlyingPrice);
    const k = toNumber(row.strike) ?? 0;
    const itm = s !== null && (right === 'call' ? k < s : k > s);
    const excluded = c !== undefined && c.excludedBy.length > 0;
    const common = () => ({
      'data-side': right,
      'data-symbol': c?.symbol,
      'data-excluded': excluded ? c.excludedBy.join(' ') : undefined,
      title: excluded ? `Excluded: ${exclusionReason(c.excludedBy)}` : undefined,
      classList: { 'chain-itm': itm, 'chain-excluded': excluded, 'chain-pickable': !!c && !!props.onPick },
      onClick: () => {
        if (c) props.onPick?.(c);
      },
    });
    const liquidity = (
      <td
        class="num chain-liq"
        data-col="liquidity"
        data-liquidity={c ? c.liquidity.toFixed(1) : ''}
        style={{ 'background-color': c ? liquidityHeat(c.liquidity) : undefined }}
        {...common()}
        title={
          excluded
            ? common().title
            : c
              ? `Liquidity ${c.liquidity.toFixed(1)} of 100 (${liquidityBand(c.liquidity)})`
              : undefined
        }
      >
        {c ? c.liquidity.toFixed(0) : ''}
      </td>
    );
    const values = (right === 'call' ? callCols() : COLUMNS).map((col) => (
      <td class="num" data-col={col.key} {...common()}>
        {c ? col.cell(c, decimals()) : ''}
      </td>
    ));
    return right === 'call' ? [liquidity, ...values] : [...values, liquidity];
  };

  return (
    <table class="table chain-table" data-expiry={props.expiry ?? ''}>
      <caption class="visually-hidden">
        Option chain {props.chain.underlying}
        {props.expiry ? `, expiry ${props.expiry}` : ''}
      </caption>
      <thead>
        <tr class="chain-groups">
          <Show when={showCalls()}>
            <th scope="colgroup" colSpan={COLUMNS.length + 1} class="chain-group chain-group-call">
              Calls
            </th>
          </Show>
          <th scope="col" class="chain-group chain-strike-head" />
          <Show when={showPuts()}>
            <th scope="colgroup" colSpan={COLUMNS.length + 1} class="chain-group chain-group-put">
              Puts
            </th>
          </Show>
        </tr>
        <tr class="chain-cols">
          <Show when={showCalls()}>
            <th scope="col" class="num" title="Liquidity score 0–100 from spread, open interest and volume">
              Liq
            </th>
            <For each={callCols()}>
              {(col) => (
                <th scope="col" class="num" title={col.title} data-col={col.key}>
                  {col.head}
                </th>
              )}
            </For>
          </Show>
          <th scope="col" class="num chain-strike">
            Strike
          </th>
          <Show when={showPuts()}>
            <For each={COLUMNS}>
              {(col) => (
                <th scope="col" class="num" title={col.title} data-col={col.key}>
                  {col.head}
                </th>
              )}
            </For>
            <th scope="col" class="num" title="Liquidity score 0–100 from spread, open interest and volume">
              Liq
            </th>
          </Show>
        </tr>
      </thead>
      <tbody>
        <Index each={rows()}>
          {(row) => (
            <tr
              class="chain-row"
              classList={{ 'chain-atm': row().strike === atm() }}
              data-strike={row().strike}
              aria-current={row().strike === atm() ? 'true' : undefined}
            >
              <Show when={showCalls()}>{cells(row(), 'call')}</Show>
              <th scope="row" class="num chain-strike" data-col="strike">
                {formatDecimal(row().strike, Math.min(4, (row().strike.split('.')[1] ?? '').length))}
                <Show when={row().strike === atm()}>
                  <span class="chain-atm-tag" title="At the money: the strike nearest the underlying">
                    ATM
                  </span>
                </Show>
              </th>
              <Show when={showPuts()}>{cells(row(), 'put')}</Show>
            </tr>
          )}
        </Index>
      </tbody>
    </table>
  );
}
