/** How the recommender's layers write numbers (pure text; `n/a` for unknowns). */
export const pct = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(digits)} %`;
export const fixed = (x: number | null | undefined, digits = 2): string =>
  x === null || x === undefined ? 'n/a' : x.toFixed(digits);
