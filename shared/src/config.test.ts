import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configIssuesOf, envBool, envPort, isConfigError, parseConfig } from './config.ts';

const schema = z.object({
  PORT: envPort(4000),
  DATABASE_URL: z.string().url(),
  SECRET_KEY: z.string().min(32),
  FLAG: envBool(false),
});

describe('parseConfig', () => {
  it('applies defaults and freezes the result', () => {
    const cfg = parseConfig('t', schema, {
      DATABASE_URL: 'postgres://x@h/db',
      SECRET_KEY: 'k'.repeat(32),
    });
    expect(cfg.PORT).toBe(4000);
    expect(cfg.FLAG).toBe(false);
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('names every bad variable and never prints a value', () => {
    const secret = 'super-secret-value-that-is-short';
    try {
      parseConfig('server', schema, { PORT: 'abc', SECRET_KEY: secret.slice(0, 10), FLAG: 'maybe' });
      expect.unreachable();
    } catch (e) {
      expect(isConfigError(e)).toBe(true);
      const msg = (e as Error).message;
      for (const name of ['PORT', 'DATABASE_URL', 'SECRET_KEY', 'FLAG']) expect(msg).toContain(name);
      expect(msg).toContain('DATABASE_URL: missing');
      expect(msg).not.toContain(secret.slice(0, 10));
      expect(configIssuesOf(e)).toHaveLength(4);
    }
  });
});
