import { hash } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { commonPasswordCount, isCommonPassword } from './common-passwords.ts';
import { checkPasswordPolicy, generateOneTimePassword, PasswordHasher, Semaphore } from './password.ts';

describe('password policy', () => {
  it('length 12–256 code points, no composition rules', () => {
    expect(checkPasswordPolicy('short-pw')).toMatch(/at least 12/);
    expect(checkPasswordPolicy('correct staple engine')).toBeNull();
    expect(checkPasswordPolicy('🔑🚀🌍🎯🧭🔭🧪🎲🪐🌋🦉🐙')).toBeNull(); // 12 code points, 24 UTF-16 units
    expect(checkPasswordPolicy('🔑'.repeat(12))).toMatch(/common/); // one unit repeated
    expect(checkPasswordPolicy('x'.repeat(200) + 'y'.repeat(57))).toMatch(/at most 256/);
  });

  it('rejects common passwords and trivial patterns, case- and space-insensitively', () => {
    expect(commonPasswordCount()).toBeGreaterThan(3000);
    for (const p of [
      'password1234',
      'Password 1234',
      'QWERTYUIOP123',
      'iloveyou2024',
      '123456789012',
      'abcabcabcabc',
      'zzzzzzzzzzzz',
    ]) {
      expect([p, isCommonPassword(p)]).toEqual([p, true]);
    }
    expect(isCommonPassword('tangerine-orbit-cobalt')).toBe(false);
  });

  it('rejects a password containing the email name', () => {
    expect(checkPasswordPolicy('margaret-secure-2024x', { email: 'margaret@example.com' })).toMatch(/email/);
  });

  it('one-time passwords are long, unambiguous and unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generateOneTimePassword();
      expect(p).toMatch(/^[A-HJ-NP-Za-km-z2-9]{5}(-[A-HJ-NP-Za-km-z2-9]{5}){3}$/);
      expect(checkPasswordPolicy(p)).toBeNull();
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });
});

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher({ maxConcurrency: 2 });

  it('hashes with argon2id at m=19456, t=2, p=1 and verifies', async () => {
    const h = await hasher.hash('a long enough passphrase');
    expect(h).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(h, 'a long enough passphrase')).toBe(true);
    expect(await hasher.verify(h, 'a long enough passphrasE')).toBe(false);
    expect(await hasher.verify('not a hash', 'x')).toBe(false);
    expect(await hasher.verifyDummy('anything')).toBe(false);
  });

  it('asks for a rehash when stored parameters are weaker', async () => {
    const weak = await hash('pw', { memoryCost: 8192, timeCost: 1, parallelism: 1, algorithm: 2 as never });
    expect(hasher.needsRehash(weak)).toBe(true);
    expect(hasher.needsRehash(await hasher.hash('pw'))).toBe(false);
    const stronger = new PasswordHasher({
      maxConcurrency: 1,
      params: { memoryCost: 32768, timeCost: 3, parallelism: 1 },
    });
    expect(stronger.needsRehash(await hasher.hash('pw'))).toBe(true);
  });

  it('refuses parameters below the minimum', () => {
    expect(
      () =>
        new PasswordHasher({ maxConcurrency: 1, params: { memoryCost: 4096, timeCost: 2, parallelism: 1 } }),
    ).toThrow();
  });
});

describe('Semaphore', () => {
  it('never runs more than its limit at once, and refuses beyond its queue', async () => {
    const s = new Semaphore(2, 3);
    let active = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const task = () =>
      s.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((r) => gates.push(r));
        active--;
      });
    const running = [task(), task(), task(), task(), task()];
    await expect(task()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    while (gates.length > 0 || s.active > 0) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(running);
    expect(peak).toBe(2);
    expect(s.waiting).toBe(0);
  });
});
