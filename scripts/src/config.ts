import { logLevel, parseConfig } from '@aegis/shared/config';
import { z } from 'zod';

/**
 * Environment of `npm run db:migrate`. The owner URL runs DDL; the app role is what the server
 * and engine log in as (created or repaired by the migrator; its password only set when given).
 */
const migrateSchema = z
  .object({
    DATABASE_OWNER_URL: z.string().url().optional(),
    DATABASE_URL: z.string().url().optional(),
    DATABASE_APP_ROLE: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lower-case identifier')
      .default('aegis_app'),
    DATABASE_APP_PASSWORD: z.string().min(1).optional(),
    LOG_LEVEL: logLevel,
  })
  .refine((env) => env.DATABASE_OWNER_URL !== undefined || env.DATABASE_URL !== undefined, {
    message: 'set DATABASE_OWNER_URL (or DATABASE_URL)',
    path: ['DATABASE_OWNER_URL'],
  })
  .transform((env) => ({
    ownerUrl: (env.DATABASE_OWNER_URL ?? env.DATABASE_URL)!,
    appRole:
      env.DATABASE_APP_PASSWORD === undefined
        ? { name: env.DATABASE_APP_ROLE }
        : { name: env.DATABASE_APP_ROLE, password: env.DATABASE_APP_PASSWORD },
    logLevel: env.LOG_LEVEL,
  }));

export type MigrateConfig = z.output<typeof migrateSchema>;

export function loadMigrateConfig(
  env: Record<string, string | undefined> = process.env,
): Readonly<MigrateConfig> {
  return parseConfig('db:migrate', migrateSchema, env);
}

/** The schema itself, for the generated configuration reference (tools/config-reference.ts). */
export { migrateSchema as migrateEnvSchema };
