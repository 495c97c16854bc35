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
});

export type LauncherConfig = Readonly<z.output<typeof schema>>;

export function loadLauncherConfig(env: Record<string, string | undefined> = process.env): LauncherConfig {
  return parseConfig('launcher', schema, env);
}

/**
 * The environment handed to each app: `defaults` where the caller set nothing, the caller's
 * environment, then what the launcher decided (`overrides`).
 */
export function appEnvironment(
  overrides: Record<string, string | undefined>,
  defaults: Record<string, string> = {},
): Record<string, string | undefined> {
  return { ...defaults, ...process.env, ...overrides };
}
