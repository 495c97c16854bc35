import { type OptionInputs, optionGreeks } from './black-scholes.ts';

/**
 * The accuracy grid for implied volatility (shared by the round-trip test and the benchmark):
 * expiries 1 day … 5 years, vols 5 % … 200 %, strikes both by plain moneyness K/F ∈ [0.5, 2] and
 * by standardized moneyness z = ln(F/K)/(σ√T) ∈ [−8, 8] (deep in- to deep out-of-the-money at
 * every expiry), calls and puts, BSM with rate and dividend yield and Black-76.
 */
export const GRID_YEARS = [1 / 365, 7 / 365, 30 / 365, 0.25, 1, 2, 5] as const;
export const GRID_VOLS = [0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2, 2] as const;
export const GRID_STRIKE_RATIOS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.25, 1.5, 1.75, 2] as const;
export const GRID_Z = [-8, -6, -4, -3, -2, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 2, 3, 4, 6, 8] as const;

export interface GridPoint {
  readonly inputs: OptionInputs;
  readonly price: number;
  /**
   * Condition number price/(σ·vega): the relative change in σ per relative change in the price.
   * A price rounded to double precision pins σ only to about κ·1.1e-16.
   */
  readonly condition: number;
}

/** Every grid point whose price is positive and whose condition number is at most maxCondition. */
export function ivGrid(maxCondition = 1e3): GridPoint[] {
  const points: GridPoint[] = [];
  const base = [
    { model: 'bsm', underlying: 100, rate: 0.03, dividendYield: 0.01 },
    { model: 'black76', underlying: 80, rate: 0.05 },
  ] as const;
  for (const b of base) {
    for (const years of GRID_YEARS) {
      for (const vol of GRID_VOLS) {
        const q = b.model === 'bsm' ? b.dividendYield : b.rate;
        const fwd = b.underlying * Math.exp((b.rate - q) * years);
        const strikes: number[] = GRID_STRIKE_RATIOS.map((k) => k * fwd);
        for (const z of GRID_Z) strikes.push(fwd * Math.exp(-z * vol * Math.sqrt(years)));
        for (const strike of strikes) {
          for (const right of ['call', 'put'] as const) {
            const inputs: OptionInputs = { ...b, right, strike, years, vol };
            const g = optionGreeks(inputs);
            const condition = g.price / (vol * g.vega);
            if (g.price > 0 && g.vega > 0 && condition <= maxCondition)
              points.push({ inputs, price: g.price, condition });
          }
        }
      }
    }
  }
  return points;
}
