import { isConfigError } from '@aegis/shared/config';
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
    expect(isConfigError(error)).toBe(true);
    const message = (error as Error).message;
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
  it('builds the token key ring: TOKEN_ENCRYPTION_KEYS first (active), TOKEN_ENCRYPTION_KEY merged with a derived kid', () => {
    const a = Buffer.alloc(32, 1).toString('base64');
    const b = Buffer.alloc(32, 2).toString('base64');
    const c = Buffer.alloc(32, 3).toString('base64');
    expect(loadServerConfig(base).tokenKeys).toEqual([]);
    const ring = loadServerConfig({
      ...base,
      TOKEN_ENCRYPTION_KEYS: `k2:${a},k1:${b}`,
      TOKEN_ENCRYPTION_KEY: c,
    }).tokenKeys;
    expect(ring.map((k) => k.kid).slice(0, 2)).toEqual(['k2', 'k1']);
    expect(ring).toHaveLength(3);
    expect(ring[2]?.key.equals(Buffer.alloc(32, 3))).toBe(true);
    // The same key given both ways is one entry.
    expect(
      loadServerConfig({ ...base, TOKEN_ENCRYPTION_KEYS: `k1:${a}`, TOKEN_ENCRYPTION_KEY: a }).tokenKeys,
    ).toHaveLength(1);
  });

  it('refuses a malformed key ring, naming the variable and never echoing a key', () => {
    const short = Buffer.alloc(16, 9).toString('base64');
    const a = Buffer.alloc(32, 1).toString('base64');
    for (const bad of [`k1:${short}`, `k1:${a},k1:${a}`, a, `bad kid:${a}`]) {
      let message = '';
      try {
        loadServerConfig({ ...base, TOKEN_ENCRYPTION_KEYS: bad });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('TOKEN_ENCRYPTION_KEYS');
      expect(message).not.toContain(a);
      expect(message).not.toContain(short);
    }
  });

  it("defaults broker endpoints to the brokers' documented URLs and lets every one be overridden", () => {
    const d = loadServerConfig(base).brokers;
    expect(d.alpaca).toMatchObject({
      clientId: null,
      authorizationUrl: 'https://app.alpaca.markets/oauth/authorize',
      tokenUrl: 'https://api.alpaca.markets/oauth/token',
      api: {
        live: { apiBaseUrl: 'https://api.alpaca.markets' },
        paper: {
          apiBaseUrl: 'https://paper-api.alpaca.markets',
          streamUrl: 'wss://paper-api.alpaca.markets/stream',
        },
      },
    });
    expect(d.coinbase).toMatchObject({
      authorizationUrl: 'https://login.coinbase.com/oauth2/auth',
      tokenUrl: 'https://login.coinbase.com/oauth2/token',
      revocationUrl: 'https://login.coinbase.com/oauth2/revoke',
      api: { live: { apiBaseUrl: 'https://api.coinbase.com' } },
    });
    expect(d.ibkrGatewayUrl).toBeNull();
    const o = loadServerConfig({
      ...base,
      ALPACA_CLIENT_ID: 'cid',
      ALPACA_OAUTH_AUTHORIZE_URL: 'http://127.0.0.1:9001/auth',
      ALPACA_OAUTH_TOKEN_URL: 'http://127.0.0.1:9001/token',
      ALPACA_PAPER_API_URL: 'http://127.0.0.1:9002',
      COINBASE_OAUTH_REVOKE_URL: 'http://127.0.0.1:9003/revoke',
      IBKR_GATEWAY_URL: 'https://127.0.0.1:5000',
    }).brokers;
    expect(o.alpaca).toMatchObject({
      clientId: 'cid',
      authorizationUrl: 'http://127.0.0.1:9001/auth',
      tokenUrl: 'http://127.0.0.1:9001/token',
      api: { paper: { apiBaseUrl: 'http://127.0.0.1:9002' } },
    });
    expect(o.coinbase.revocationUrl).toBe('http://127.0.0.1:9003/revoke');
    expect(o.ibkrGatewayUrl).toBe('https://127.0.0.1:5000');
  });
});
