import { randomBytes } from 'node:crypto';
import { envPort, logLevel, parseConfig } from '@aegis/shared/config';
import { z } from 'zod';

/**
 * The launcher's own settings. Everything else is read by each app's own config module from the
 * same environment; the launcher only decides where PostgreSQL and the bus come from.
 */
const schema = z.object({
  DATABASE_URL: z.string().url().optional(),
  DATABASE_OWNER_URL: z.string().url().optional(),
  DATABASE_APP_ROLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('aegis_app'),
  REDIS_URL: z.string().url().optional(),
  AEGIS_DATA_DIR: z.string().min(1).default('.aegis'),
  AEGIS_EMBEDDED_PG_PORT: envPort(54329),
  WEB_PORT: envPort(3000),
  WEB_HOST: z.string().min(1).default('127.0.0.1'),
  SERVER_PORT: envPort(4000),
  SERVER_HOST: z.string().min(1).default('127.0.0.1'),
  ENGINE_PORT: envPort(4100),
  PUBLIC_ORIGIN: z.string().url().optional(),
  ALLOWED_ORIGINS: z.string().optional(),
  LOG_LEVEL: logLevel,
  /** Read only to know whether the operator set a token key (the server validates it). */
  TOKEN_ENCRYPTION_KEY: z.string().optional(),
  TOKEN_ENCRYPTION_KEYS: z.string().optional(),
});

export type LauncherConfig = Readonly<z.output<typeof schema>>;

export function loadLauncherConfig(env: Record<string, string | undefined> = process.env): LauncherConfig {
  return parseConfig('launcher', schema, env);
}

/**
 * The environment handed to each app: `defaults` where the caller set nothing, the caller's
 * environment, then what the launcher decided (`overrides`). The engine's own variables pass
 * through untouched — ENGINE_FEED and the venue feeds' (ENGINE_COINBASE_*, ENGINE_ALPACA_*,
 * ENGINE_CCXT_*, ENGINE_BOOK_*; docs/venue-feeds.md) — so `ENGINE_FEED=coinbase
 * ENGINE_COINBASE_PRODUCTS=BTC-USD npm start` runs the platform on Coinbase's market; the engine's
 * config validates them (unknown ENGINE_* refused) before anything starts.
 */
export function appEnvironment(
  overrides: Record<string, string | undefined>,
  defaults: Record<string, string> = {},
): Record<string, string | undefined> {
  return { ...defaults, ...process.env, ...overrides };
}

/**
 * A fresh secret for each start, handed to the server and the console (FORWARDER_SECRET): the
 * console's /trpc forwarder sends it so the server believes the browser address it states.
 * Why a secret and not loopback trust: every local process connects from loopback, and would
 * choose its own client address (throttles, rate limits, audit). Why not a Unix socket: the
 * secret works unchanged over TCP when the console and server run apart, and needs no socket
 * file permissions or a second listener. Never logged; it lives only in the two processes.
 */
export function newForwarderSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The schema itself, for the generated configuration reference (tools/config-reference.ts). */
export { schema as launcherEnvSchema };
