import { Show } from 'solid-js';
import { formatDecimal, utcTime } from '../../lib/decimal-format.ts';
import { priceDecimals } from '../../lib/live-quotes.ts';
import { formatVol } from '../../lib/option-format.ts';
import type { RouterOutputs } from '../../lib/trpc.ts';

type Chain = RouterOutputs['marketData']['chain'];

/**
 * The chain's header: underlying price, ATM implied volatility, where it stands in its history
 * (rank and percentile), realized volatility and the pricing inputs. Fixed-height cells, so the
 * strip does not move while the chain loads.
 */
export function ChainStats(props: { chain: Chain | undefined; failure?: unknown }) {
  const c = () => props.chain;
  const excluded = () => c()?.contracts.filter((k) => k.excludedBy.length > 0).length ?? 0;
  const rank = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(0));
  return (
    <dl class="kpi-strip chain-stats" aria-label="Chain summary" data-underlying={c()?.underlying ?? ''}>
      <div class="kpi">
        <dt>Underlying</dt>
        <dd data-field="underlying-price" data-value={c()?.underlyingPrice ?? ''}>
          {formatDecimal(c()?.underlyingPrice ?? null, priceDecimals(c()?.underlyingPrice))}
        </dd>
      </div>
      <div class="kpi" title="At-the-money implied volatility of the nearest expiry at least a week out">
        <dt>ATM IV</dt>
        <dd data-field="atm-iv" data-value={c()?.atmIv ?? ''}>
          {formatVol(c()?.atmIv, 1)}
        </dd>
      </div>
      <div class="kpi" title={`Over the last ${c()?.ivHistoryDays ?? '—'} daily ATM IVs`}>
        <dt>IV rank / pct</dt>
        <dd data-field="iv-rank" data-value={c()?.ivRank ?? ''}>
          {rank(c()?.ivRank)} / {rank(c()?.ivPercentile)}
        </dd>
      </div>
      <div
        class="kpi"
        title={`Annualized, from ${c()?.realizedVolReturns ?? 0} ${c()?.realizedVolInterval ?? ''} returns`}
      >
        <dt>Realized vol</dt>
        <dd data-field="realized-vol" data-value={c()?.realizedVol ?? ''}>
          {formatVol(c()?.realizedVol, 1)}
        </dd>
      </div>
      <div class="kpi" title="Implied minus realized volatility, in vol points">
        <dt>IV − RV</dt>
        <dd>
          {c()?.atmIv !== null &&
          c()?.atmIv !== undefined &&
          c()?.realizedVol !== null &&
          c()?.realizedVol !== undefined
            ? formatVol(c()!.atmIv! - c()!.realizedVol!, 1)
            : '—'}
        </dd>
      </div>
      <div
        class="kpi"
        title={
          c()
            ? `Risk-free rate ${(c()!.rate * 100).toFixed(2)} %, dividend yield ${(c()!.dividendYield * 100).toFixed(2)} %, multiplier ${c()!.multiplier}`
            : undefined
        }
      >
        <dt>Model</dt>
        <dd class="chain-model">
          <Show when={c()} fallback="—">
            {(k) => (
              <>
                {k().model === 'black76' ? 'Black-76' : 'BSM'}{' '}
                <span class="dim">r {(k().rate * 100).toFixed(2)}%</span>
              </>
            )}
          </Show>
        </dd>
      </div>
      <div class="kpi" title="Contracts the preset's filters remove (dimmed in the table), of those shown">
        <dt>Excluded</dt>
        <dd data-field="contracts">{c() ? `${excluded()} of ${c()!.contracts.length}` : '—'}</dd>
      </div>
      <div class="kpi">
        <dt>As of (UTC)</dt>
        <dd class="chain-asof">{c() ? utcTime(c()!.asOf).slice(11) : '—'}</dd>
      </div>
    </dl>
  );
}
