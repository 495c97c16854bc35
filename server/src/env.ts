import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { envBool, envInt, logLevel, parseConfig } from '@aegis/shared/config';
import { z } from 'zod';
import { parseTokenKeys, type TokenKey } from './auth/oauth/token-crypto.ts';
import { secretDigest } from './client-ip.ts';

/**
 * The server's configuration: the one place that reads the environment. `main.ts` calls
 * `loadServerConfig(process.env)` once at start; everything else receives the frozen object.
 */

const originList = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const origins: string[] = [];
    for (const raw of s.split(',')) {
      const item = raw.trim();
      if (!item) continue;
      const origin = toOrigin(item);
      if (!origin) {
        ctx.addIssue({
          code: 'custom',
          message: 'each entry must be an http(s) origin such as https://aegis.example',
        });
        return z.NEVER;
      }
      origins.push(origin);
    }
    return origins;
  });

/** Normalises `https://Host:443/` → `https://host`; null when it is not an http(s) origin. */
function toOrigin(value: string): string | null {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin;
  } catch {
    return null;
  }
}

const postgresUrl = z
  .string()
  .refine((s) => /^postgres(ql)?:\/\//.test(s) && toUrl(s) !== null, 'must be a postgres:// URL');
const redisUrl = z
  .string()
  .refine((s) => /^rediss?:\/\//.test(s) && toUrl(s) !== null, 'must be a redis:// URL');
const httpUrl = z.string().refine((s) => toOrigin(s) !== null, 'must be an http(s) URL');

function toUrl(s: string): URL | null {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === '' ? undefined : s));

export const serverEnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: logLevel,
    SERVER_HOST: z.string().min(1).default('127.0.0.1'),
    /** 0 = an ephemeral port (tests). */
    SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    /** The application role's URL (not the migration owner): RLS applies to it. */
    DATABASE_URL: postgresUrl,
    /** Unset ⇒ single-process mode with the in-process bus and in-memory login throttle. */
    REDIS_URL: redisUrl.optional(),
    /** The origin the web console is served from (browsers send it as `Origin`). */
    PUBLIC_ORIGIN: httpUrl.default('http://localhost:3000'),
    /** Extra origins allowed to make cookie-authenticated mutations (comma-separated). */
    ALLOWED_ORIGINS: originList,
    SESSION_IDLE_DAYS: envInt(7, 1, 365),
    SESSION_ABSOLUTE_DAYS: envInt(30, 1, 3650),
    REAUTH_WINDOW_MINUTES: envInt(10, 1, 120),
    /** Concurrent argon2 hashes; each costs ~19 MiB and one core for tens of milliseconds. */
    ARGON2_MAX_CONCURRENCY: envInt(2, 1, 64),
    /** Global permission for desks to run in autonomous mode; off unless explicitly enabled. */
    AUTONOMOUS_ENABLED: envBool(false),
    /** Alert webhooks may target localhost (development and tests; docs/alerts.md). */
    ALERT_WEBHOOKS_ALLOW_LOCALHOST: envBool(false),
    /** Desk alert events and finished webhook deliveries are deleted after this many days. */
    ALERT_RETENTION_DAYS: envInt(90, 1, 3650),
    /** Alert webhooks may target private addresses (ignored when NODE_ENV=production). */
    ALERT_WEBHOOKS_ALLOW_PRIVATE: envBool(false),
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: httpUrl.optional(),
    OPENAI_MODEL: optionalString,
    /** Lessons use OpenAI embeddings only when this names a model; else the local hashing embedder. */
    OPENAI_EMBEDDING_MODEL: optionalString,
    /** Per session / API key sliding-window limits (server/src/rate-limit/). */
    RATE_LIMIT_ENABLED: envBool(true),
    RATE_LIMIT_WINDOW_SECONDS: envInt(60, 1, 3600),
    RATE_LIMIT_READS: envInt(600, 1, 1_000_000),
    RATE_LIMIT_MUTATIONS: envInt(120, 1, 1_000_000),
    /** Most calls one tRPC batch may carry; a larger batch is refused with 400. */
    TRPC_MAX_BATCH_SIZE: envInt(50, 1, 1000),
    /**
     * Peers whose X-Forwarded-For is believed (comma-separated IPs), e.g. a load balancer's
     * address. Empty (the default): nobody by address. Loopback is deliberately not the
     * default: every local process connects from it, and would choose its own client address.
     */
    TRUSTED_PROXIES: z
      .string()
      .default('')
      .refine(
        (s) => s.split(',').every((ip) => ip.trim() === '' || isIP(ip.trim()) !== 0),
        'must be IP addresses',
      )
      .transform((s) =>
        s
          .split(',')
          .map((ip) => ip.trim())
          .filter(Boolean),
      ),
    /**
     * The console's /trpc forwarder proves itself with this shared secret (header
     * x-aegis-forwarder, compared in constant time); its X-Forwarded-For is then believed.
     * `npm start` generates a fresh one per start and hands it to the server and the console.
     */
    FORWARDER_SECRET: optionalString.refine(
      (s) => s === undefined || s.length >= 32,
      'must be at least 32 characters (npm start generates one per start)',
    ),
    /** base64 of 32 random bytes (AES-256-GCM key for broker tokens at rest). */
    TOKEN_ENCRYPTION_KEY: z
      .string()
      .optional()
      .refine(
        (s) => s === undefined || Buffer.from(s, 'base64').length === 32,
        'must be base64 of exactly 32 bytes',
      ),
    /** Key ring `kid:base64,kid:base64` (first encrypts, all decrypt): rotation, docs/brokers.md. */
    TOKEN_ENCRYPTION_KEYS: optionalString.refine((s) => {
      try {
        parseTokenKeys(s, undefined);
        return true;
      } catch {
        return false;
      }
    }, 'must be kid:base64-of-32-bytes entries, comma-separated, kids unique'),
    // Broker providers (server/src/auth/oauth/providers.ts). Every URL can be pointed elsewhere
    // (tests point them at local servers); the defaults are the brokers' documented endpoints.
    ALPACA_CLIENT_ID: optionalString,
    ALPACA_CLIENT_SECRET: optionalString,
    ALPACA_OAUTH_AUTHORIZE_URL: httpUrl.default('https://app.alpaca.markets/oauth/authorize'),
    ALPACA_OAUTH_TOKEN_URL: httpUrl.default('https://api.alpaca.markets/oauth/token'),
    /** Set when the authorization server returns `iss` (RFC 9207): the callback then requires it. */
    ALPACA_OAUTH_ISSUER: optionalString,
    ALPACA_OAUTH_SCOPES: z.string().default('account:write trading'),
    ALPACA_API_URL: httpUrl.default('https://api.alpaca.markets'),
    ALPACA_PAPER_API_URL: httpUrl.default('https://paper-api.alpaca.markets'),
    ALPACA_STREAM_URL: z.string().default('wss://api.alpaca.markets/stream'),
    ALPACA_PAPER_STREAM_URL: z.string().default('wss://paper-api.alpaca.markets/stream'),
    COINBASE_CLIENT_ID: optionalString,
    COINBASE_CLIENT_SECRET: optionalString,
    COINBASE_OAUTH_AUTHORIZE_URL: httpUrl.default('https://login.coinbase.com/oauth2/auth'),
    COINBASE_OAUTH_TOKEN_URL: httpUrl.default('https://login.coinbase.com/oauth2/token'),
    COINBASE_OAUTH_REVOKE_URL: httpUrl.default('https://login.coinbase.com/oauth2/revoke'),
    COINBASE_OAUTH_ISSUER: optionalString,
    COINBASE_OAUTH_SCOPES: z
      .string()
      .default(
        'wallet:accounts:read wallet:buys:create wallet:sells:create wallet:orders:read wallet:orders:create',
      ),
    COINBASE_API_URL: httpUrl.default('https://api.coinbase.com'),
    COINBASE_STREAM_URL: z.string().default('wss://advanced-trade-ws-user.coinbase.com'),
    /** The IBKR Client Portal gateway the server reaches (unset: IBKR cannot be linked). */
    IBKR_GATEWAY_URL: httpUrl.optional(),
    /** PEM file of the gateway's certificate (verified against it). */
    IBKR_GATEWAY_CA_FILE: optionalString,
    /** Accept the gateway's self-signed certificate, on a loopback address only (its default setup). */
    IBKR_GATEWAY_ALLOW_SELF_SIGNED_LOOPBACK: envBool(false),
    /** Tests only: every CCXT venue's REST calls go to this base URL instead of the venue's. */
    CCXT_API_BASE_URL: httpUrl.optional(),
    /**
     * Alpaca API keys the server reads Alpaca's asset list with (instruments.load, docs/instruments.md);
     * unset: ALPACA cannot be loaded. Read-only use: keys of a paper account do.
     */
    ALPACA_API_KEY_ID: optionalString,
    ALPACA_API_SECRET_KEY: optionalString,
    /**
     * Option chains (docs/option-chains.md): the continuously compounded risk-free rate IVs and
     * Greeks are computed with, and the dividend yield of equity underlyings (others: none).
     */
    OPTIONS_RISK_FREE_RATE: z.coerce.number().min(-0.05).max(0.5).default(0.04),
    OPTIONS_DIVIDEND_YIELD: z.coerce.number().min(0).max(0.5).default(0),
  })
  .refine((c) => c.SESSION_ABSOLUTE_DAYS >= c.SESSION_IDLE_DAYS, {
    path: ['SESSION_ABSOLUTE_DAYS'],
    message: 'must be at least SESSION_IDLE_DAYS',
  });

export interface ServerConfig {
  readonly nodeEnv: 'development' | 'test' | 'production';
  readonly logLevel: string;
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly redisUrl: string | undefined;
  readonly publicOrigin: string;
  /** PUBLIC_ORIGIN plus ALLOWED_ORIGINS, normalised, deduplicated. */
  readonly allowedOrigins: readonly string[];
  /** Secure cookies (and the `__Host-` prefix) unless the console is served over plain http. */
  readonly secureCookies: boolean;
  readonly session: { readonly idleMs: number; readonly absoluteMs: number; readonly reauthWindowMs: number };
  readonly argon2MaxConcurrency: number;
  readonly autonomousEnabled: boolean;
  /** Where desk alert webhooks may point beyond public https addresses. */
  readonly alerts: {
    readonly allowLocalhost: boolean;
    readonly allowPrivateTargets: boolean;
    readonly retentionMs: number;
  };
  readonly openai: {
    readonly apiKey?: string;
    readonly baseUrl?: string;
    readonly model?: string;
    readonly embeddingModel?: string;
  };
  readonly tokenEncryptionKey: Buffer | undefined;
  /** The token key ring, active key first (empty: linking is refused). */
  readonly tokenKeys: readonly TokenKey[];
  readonly brokers: BrokerProvidersConfig;
  /** Where instruments.load reads venues' instrument lists (server/src/market/instrument-load.ts). */
  readonly instrumentSources: {
    readonly alpacaKeys: { readonly keyId: string; readonly secretKey: string } | null;
  };
  readonly trustedProxies: ReadonlySet<string>;
  /** SHA-256 of FORWARDER_SECRET (the secret itself is not kept in the config object). */
  readonly forwarderSecretDigest: Buffer | null;
  readonly trpcMaxBatchSize: number;
  readonly rateLimit: {
    readonly enabled: boolean;
    readonly read: { readonly limit: number; readonly windowMs: number };
    readonly mutation: { readonly limit: number; readonly windowMs: number };
  };
  /** Option chains (server/src/market/option-chain.ts). */
  readonly options: { readonly riskFreeRate: number; readonly dividendYield: number };
}

const DAY_MS = 86_400_000;

const splitScopes = (s: string) => s.split(/[\s,]+/).filter(Boolean);

/** One built-in OAuth provider's endpoints and client (server/src/auth/oauth/providers.ts). */
export interface OAuthProviderSettings {
  readonly clientId: string | null;
  readonly clientSecret: string | null;
  readonly authorizationUrl: string;
  readonly tokenUrl: string;
  readonly revocationUrl: string | null;
  readonly issuer: string | null;
  readonly scopes: readonly string[];
  readonly api: Record<'paper' | 'live', { readonly apiBaseUrl: string; readonly streamUrl: string | null }>;
}

export interface BrokerProvidersConfig {
  readonly alpaca: OAuthProviderSettings;
  readonly coinbase: OAuthProviderSettings;
  readonly ibkrGatewayUrl: string | null;
  readonly ibkrGatewayTls: { readonly ca?: string; readonly allowSelfSignedLoopback: boolean };
  readonly ccxtApiBaseUrl: string | null;
}

export function loadServerConfig(env: Record<string, string | undefined>): ServerConfig {
  const e = parseConfig('server', serverEnvSchema, env);
  const publicOrigin = toOrigin(e.PUBLIC_ORIGIN) ?? e.PUBLIC_ORIGIN;
  const config: ServerConfig = {
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    host: e.SERVER_HOST,
    port: e.SERVER_PORT,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    publicOrigin,
    allowedOrigins: [...new Set([publicOrigin, ...e.ALLOWED_ORIGINS])],
    // Browsers refuse `__Host-` cookies without Secure, and never send Secure cookies over plain
    // http (localhost excepted in some, not all). So plain-http origins get non-secure cookies.
    secureCookies: publicOrigin.startsWith('https:'),
    session: {
      idleMs: e.SESSION_IDLE_DAYS * DAY_MS,
      absoluteMs: e.SESSION_ABSOLUTE_DAYS * DAY_MS,
      reauthWindowMs: e.REAUTH_WINDOW_MINUTES * 60_000,
    },
    argon2MaxConcurrency: e.ARGON2_MAX_CONCURRENCY,
    autonomousEnabled: e.AUTONOMOUS_ENABLED,
    alerts: {
      allowLocalhost: e.ALERT_WEBHOOKS_ALLOW_LOCALHOST,
      allowPrivateTargets: e.NODE_ENV !== 'production' && e.ALERT_WEBHOOKS_ALLOW_PRIVATE,
      retentionMs: e.ALERT_RETENTION_DAYS * DAY_MS,
    },
    openai: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL,
      model: e.OPENAI_MODEL,
      embeddingModel: e.OPENAI_EMBEDDING_MODEL,
    },
    tokenEncryptionKey: e.TOKEN_ENCRYPTION_KEY ? Buffer.from(e.TOKEN_ENCRYPTION_KEY, 'base64') : undefined,
    tokenKeys: parseTokenKeys(e.TOKEN_ENCRYPTION_KEYS, e.TOKEN_ENCRYPTION_KEY),
    brokers: {
      alpaca: {
        clientId: e.ALPACA_CLIENT_ID ?? null,
        clientSecret: e.ALPACA_CLIENT_SECRET ?? null,
        authorizationUrl: e.ALPACA_OAUTH_AUTHORIZE_URL,
        tokenUrl: e.ALPACA_OAUTH_TOKEN_URL,
        revocationUrl: null,
        issuer: e.ALPACA_OAUTH_ISSUER ?? null,
        scopes: splitScopes(e.ALPACA_OAUTH_SCOPES),
        api: {
          live: { apiBaseUrl: e.ALPACA_API_URL, streamUrl: e.ALPACA_STREAM_URL },
          paper: { apiBaseUrl: e.ALPACA_PAPER_API_URL, streamUrl: e.ALPACA_PAPER_STREAM_URL },
        },
      },
      coinbase: {
        clientId: e.COINBASE_CLIENT_ID ?? null,
        clientSecret: e.COINBASE_CLIENT_SECRET ?? null,
        authorizationUrl: e.COINBASE_OAUTH_AUTHORIZE_URL,
        tokenUrl: e.COINBASE_OAUTH_TOKEN_URL,
        revocationUrl: e.COINBASE_OAUTH_REVOKE_URL,
        issuer: e.COINBASE_OAUTH_ISSUER ?? null,
        scopes: splitScopes(e.COINBASE_OAUTH_SCOPES),
        // Coinbase has no paper trading: both environments name the live API.
        api: {
          live: { apiBaseUrl: e.COINBASE_API_URL, streamUrl: e.COINBASE_STREAM_URL },
          paper: { apiBaseUrl: e.COINBASE_API_URL, streamUrl: e.COINBASE_STREAM_URL },
        },
      },
      ibkrGatewayUrl: e.IBKR_GATEWAY_URL ?? null,
      ibkrGatewayTls: {
        ...(e.IBKR_GATEWAY_CA_FILE && { ca: readFileSync(e.IBKR_GATEWAY_CA_FILE, 'utf8') }),
        allowSelfSignedLoopback: e.IBKR_GATEWAY_ALLOW_SELF_SIGNED_LOOPBACK,
      },
      ccxtApiBaseUrl: e.CCXT_API_BASE_URL ?? null,
    },
    instrumentSources: {
      alpacaKeys:
        e.ALPACA_API_KEY_ID && e.ALPACA_API_SECRET_KEY
          ? { keyId: e.ALPACA_API_KEY_ID, secretKey: e.ALPACA_API_SECRET_KEY }
          : null,
    },
    trustedProxies: new Set(e.TRUSTED_PROXIES),
    forwarderSecretDigest: e.FORWARDER_SECRET ? secretDigest(e.FORWARDER_SECRET) : null,
    trpcMaxBatchSize: e.TRPC_MAX_BATCH_SIZE,
    rateLimit: {
      enabled: e.RATE_LIMIT_ENABLED,
      read: { limit: e.RATE_LIMIT_READS, windowMs: e.RATE_LIMIT_WINDOW_SECONDS * 1000 },
      mutation: { limit: e.RATE_LIMIT_MUTATIONS, windowMs: e.RATE_LIMIT_WINDOW_SECONDS * 1000 },
    },
    options: { riskFreeRate: e.OPTIONS_RISK_FREE_RATE, dividendYield: e.OPTIONS_DIVIDEND_YIELD },
  };
  return Object.freeze(config);
}

/** The daemon's entry: the one read of `process.env` in the server. */
export function loadServerConfigFromProcess(): ServerConfig {
  return loadServerConfig(process.env);
}
