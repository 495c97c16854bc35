import { randomBytes } from 'node:crypto';
import { AppError } from '@aegis/shared/errors';
import { type Algorithm, hash, parseOptions, verify } from '@node-rs/argon2';
import { isCommonPassword } from './common-passwords.ts';

/**
 * Password hashing: argon2id with OWASP's minimum profile (m = 19 MiB, t = 2, p = 1) or
 * stronger. Hashes are PHC strings, so their parameters travel with them: `needsRehash` tells
 * the login path to upgrade a hash made with weaker parameters while it has the plaintext.
 *
 * Each hash takes ~19 MiB and one core for tens of milliseconds, so concurrent hashing is
 * bounded by a semaphore sized from config (ARGON2_MAX_CONCURRENCY); a flood of logins queues
 * (bounded) instead of exhausting memory and CPU, and beyond the queue it is refused.
 */

// `Algorithm` is a const enum in the package's .d.ts, unusable under isolatedModules: 2 = Argon2id.
const ARGON2ID = 2 as Algorithm;

export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

export const DEFAULT_ARGON2_PARAMS: Argon2Params = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * Policy (NIST SP 800-63B): length 12–256 code points, no composition rules, not a known-common
 * password. Returns the reason when rejected.
 */
export function checkPasswordPolicy(password: string, context: { email?: string } = {}): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  if (isCommonPassword(password)) return 'is too common; choose a less guessable passphrase';
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && password.toLowerCase().includes(local))
    return 'must not contain your email name';
  return null;
}

export class Semaphore {
  readonly #max: number;
  readonly #maxQueue: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(max: number, maxQueue: number) {
    this.#max = max;
    this.#maxQueue = maxQueue;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) {
      if (this.#queue.length >= this.#maxQueue) {
        throw new AppError('UNAVAILABLE', 'Too many concurrent sign-ins; try again shortly', {
          retryAfterSeconds: 2,
        });
      }
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      // Hand the slot straight to the next waiter (active count unchanged), or release it.
      if (next) next();
      else this.#active--;
    }
  }
}

export class PasswordHasher {
  readonly params: Argon2Params;
  readonly #semaphore: Semaphore;
  #dummyHash: Promise<string> | undefined;

  constructor(options: { maxConcurrency: number; params?: Argon2Params }) {
    this.params = options.params ?? DEFAULT_ARGON2_PARAMS;
    if (this.params.memoryCost < 19_456 || this.params.timeCost < 2 || this.params.parallelism < 1) {
      throw new Error('argon2 parameters below the minimum (m=19456 KiB, t=2, p=1)');
    }
    this.#semaphore = new Semaphore(options.maxConcurrency, options.maxConcurrency * 64);
  }

  hash(password: string): Promise<string> {
    return this.#semaphore.run(() => hash(password, { ...this.params, algorithm: ARGON2ID }));
  }

  /**
   * Password verifications started since this hasher was made (real and dummy). Each one costs
   * ~19 MiB and tens of milliseconds of a core, so the login throttle must bound it: the
   * throttle tests read it to prove no more than the limit are verified under a burst.
   */
  get verifications(): number {
    return this.#verifications;
  }
  #verifications = 0;

  async verify(passwordHash: string, password: string): Promise<boolean> {
    this.#verifications++;
    return this.#semaphore.run(async () => {
      try {
        return await verify(passwordHash, password);
      } catch {
        // A malformed stored hash verifies nothing.
        return false;
      }
    });
  }

  /**
   * Burns the same work as a real verification, for unknown users: the response time must not
   * reveal whether an account exists.
   */
  async verifyDummy(password: string): Promise<false> {
    this.#dummyHash ??= this.hash(randomBytes(24).toString('base64'));
    await this.verify(await this.#dummyHash, password);
    return false;
  }

  /** Computes the dummy hash ahead of the first unknown-user login (else that one takes longer). */
  async warmUp(): Promise<void> {
    this.#dummyHash ??= this.hash(randomBytes(24).toString('base64'));
    await this.#dummyHash;
  }

  /** True when the stored hash is weaker than (or different from) the current parameters. */
  needsRehash(passwordHash: string): boolean {
    try {
      const o = parseOptions(passwordHash);
      return (
        o.algorithm !== ARGON2ID ||
        o.memoryCost < this.params.memoryCost ||
        o.timeCost < this.params.timeCost ||
        o.parallelism !== this.params.parallelism
      );
    } catch {
      return true;
    }
  }
}

/** A strong random password for one-time use (first admin, admin-created users). */
export function generateOneTimePassword(): string {
  // 20 characters from a 57-symbol alphabet without look-alikes (no I, O, l, 0, 1): ~116 bits.
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const n = alphabet.length;
  const limit = 256 - (256 % n);
  const out: string[] = [];
  while (out.length < 20) {
    for (const b of randomBytes(32)) {
      // Rejection sampling keeps every symbol equally likely.
      if (b < limit && out.length < 20) out.push(alphabet[b % n]!);
    }
  }
  return `${out.slice(0, 5).join('')}-${out.slice(5, 10).join('')}-${out.slice(10, 15).join('')}-${out.slice(15).join('')}`;
}
