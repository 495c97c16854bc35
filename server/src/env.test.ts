import { ConfigError } from '@aegis/shared/config';
import { describe, expect, it } from 'vitest';
import { loadServerConfig } from './env.ts';

const base = { DATABASE_URL: 'postgres://aegis_app:pw@127.0.0.1:5432/aegis' };

describe('server config', () => {
  it('applies the documented defaults', () => {
    const c = loadServerConfig(base);
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      redisUrl: undefined,
      publicOrigin: 'http://localhost:3000',
      allowedOrigins: ['http://localhost:3000'],
      secureCookies: false,
      autonomousEnabled: false,
      session: { idleMs: 7 * 86_400_000, absoluteMs: 30 * 86_400_000, reauthWindowMs: 600_000 },
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('normalises origins and turns on secure cookies for https consoles', () => {
    const c = loadServerConfig({
      ...base,
      PUBLIC_ORIGIN: 'https://Aegis.Example:443/',
      ALLOWED_ORIGINS: 'https://ops.example, http://localhost:3000',
    });
    expect(c.allowedOrigins).toEqual([
      'https://aegis.example',
      'https://ops.example',
      'http://localhost:3000',
    ]);
    expect(c.secureCookies).toBe(true);
  });

  it('names every bad variable and never echoes a value', () => {
    const secret = 'sk-live-THIS-MUST-NOT-APPEAR';
    let error: unknown;
    try {
      loadServerConfig({
        DATABASE_URL: `mysql://root:${secret}@db/x`,
        SERVER_PORT: '70000',
        REDIS_URL: `http://${secret}`,
        ALLOWED_ORIGINS: `ftp://${secret}`,
        SESSION_IDLE_DAYS: 'seven',
        AUTONOMOUS_ENABLED: 'maybe',
        TOKEN_ENCRYPTION_KEY: secret,
        LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of [
      'DATABASE_URL',
      'SERVER_PORT',
      'REDIS_URL',
      'ALLOWED_ORIGINS',
      'SESSION_IDLE_DAYS',
      'AUTONOMOUS_ENABLED',
      'TOKEN_ENCRYPTION_KEY',
      'LOG_LEVEL',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain(secret);
  });

  it('requires DATABASE_URL', () => {
    expect(() => loadServerConfig({})).toThrow(/DATABASE_URL: missing/);
  });

  it('rejects an absolute lifetime shorter than the idle lifetime', () => {
    expect(() => loadServerConfig({ ...base, SESSION_IDLE_DAYS: '10', SESSION_ABSOLUTE_DAYS: '5' })).toThrow(
      /SESSION_ABSOLUTE_DAYS/,
    );
  });
});
