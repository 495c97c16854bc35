/**
 * The repository's one seeded random generator (engine and server): same seed, same numbers, on
 * every run and machine (plain 32-bit integer math; no Math.random on any seeded path). State
 * lives in number fields: no allocation per draw.
 *
 * Two sources of uniform u32s behind the same draws (uniform, integer, normal, exponential,
 * shuffle), because committed outputs depend on each sequence:
 *   - `Xoshiro128` (xoshiro128**, Blackman & Vigna; period 2^128 − 1), the default: market data —
 *     the synthetic feed, the labelled evaluation market, the fake venues and fixtures of tests;
 *   - `Mulberry32`: model weights and training order (model/mlp.ts), the seeded backtest scorer,
 *     the paper broker's latency jitter and tick tapes of tests — `npm run model:train`
 *     reproduces the committed model only with it.
 * `seededRandom(seed, algorithm)` picks one by name.
 */
export abstract class SeededRandom {
  #spare = 0;
  #hasSpare = false;

  /** Uniform integer in [0, 2^32). */
  abstract nextU32(): number;

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller, the second value cached). */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    this.#hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle(a: Uint32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }
}

/** xoshiro128**, seeded through splitmix32 so nearby seeds give unrelated streams. */
export class Xoshiro128 extends SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    super();
    let s = seed >>> 0;
    const splitmix32 = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = splitmix32();
    this.#b = splitmix32();
    this.#c = splitmix32();
    this.#d = splitmix32();
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }
}

/** mulberry32: one u32 of state; seed 0 is replaced by a fixed odd constant. */
export class Mulberry32 extends SeededRandom {
  #state: number;

  constructor(seed: number) {
    super();
    this.#state = seed >>> 0 || 0x9e3779b9;
  }

  nextU32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

export type RandomAlgorithm = 'xoshiro128**' | 'mulberry32';

export function seededRandom(seed: number, algorithm: RandomAlgorithm = 'xoshiro128**'): SeededRandom {
  return algorithm === 'mulberry32' ? new Mulberry32(seed) : new Xoshiro128(seed);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
