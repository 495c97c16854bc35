/**
 * The harness's fixed seeds, one place for all of them. Each seed is one labelled market
 * (labelled-market.ts). Detectors and the model are fitted on TRAINING_SEEDS only, chosen on
 * VALIDATION_SEEDS, and reported once on TEST_SEEDS. The sets are disjoint (checked by a test).
 */
export const TRAINING_SEEDS: readonly number[] = Object.freeze([
  1101, 1102, 1103, 1104, 1105, 1106, 1107, 1108,
]);
export const VALIDATION_SEEDS: readonly number[] = Object.freeze([2201, 2202, 2203]);
export const TEST_SEEDS: readonly number[] = Object.freeze([3301, 3302, 3303]);
/** The regression test's small market (signal-edge.test.ts); disjoint from the three above. */
export const REGRESSION_SEEDS: readonly number[] = Object.freeze([4401, 4402]);

export type Split = 'train' | 'validation' | 'test';

export function seedsOf(split: Split): readonly number[] {
  return split === 'train' ? TRAINING_SEEDS : split === 'validation' ? VALIDATION_SEEDS : TEST_SEEDS;
}
