/** The seeded generator lives in shared (the server's paper broker draws from it too). */
export {
  Mulberry32,
  type RandomAlgorithm,
  SeededRandom,
  seededRandom,
  Xoshiro128,
} from '@aegis/shared/random/seeded-random';
