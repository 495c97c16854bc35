/** Classification metrics for the training report. Pure functions over plain arrays. */

/** Mean binary cross-entropy of probabilities `p` against 0/1 labels `y` (first n entries). */
export function logLoss(p: ArrayLike<number>, y: ArrayLike<number>, n = y.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.min(Math.max(p[i]!, 1e-12), 1 - 1e-12);
    s -= y[i]! > 0.5 ? Math.log(q) : Math.log(1 - q);
  }
  return n > 0 ? s / n : Number.NaN;
}

/**
 * ROC AUC via the Mann-Whitney U statistic with average ranks for ties: the probability that a
 * random positive scores above a random negative. NaN when one class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, y: ArrayLike<number>, n = y.length): number {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSumPositives = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (y[idx[k]!]! > 0.5) {
        positives++;
        rankSumPositives += avgRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Fraction of positive labels. */
export function baseRate(y: ArrayLike<number>, n = y.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += y[i]! > 0.5 ? 1 : 0;
  return n > 0 ? s / n : Number.NaN;
}
