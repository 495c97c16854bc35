import { parseConfig } from '@aegis/shared/config';
import { z } from 'zod';

/**
 * Configuration of the `aegis` CLI and of scripts built on `scripts/lib/client.ts`: the one place
 * they read the environment. The API key comes only from the environment, never from a flag, so
 * it stays out of shell history and process listings.
 *
 * (`scripts/src/config.ts` is the migration/launcher config; this one is the API client's.)
 */
const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

export const cliEnvSchema = z.object({
  AEGIS_URL: httpUrl.default('http://127.0.0.1:4000'),
  AEGIS_API_KEY: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim()))
    .refine(
      (s) => s === undefined || /^aegis_[A-Za-z0-9_-]{8,200}$/.test(s),
      'must be an Aegis API key (aegis_…)',
    ),
  AEGIS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** For `admin create`, which works on the database directly (no server, no key yet). */
  DATABASE_OWNER_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
});

export interface CliConfig {
  /** Server base URL, without a trailing slash; tRPC lives at `${url}/trpc`. */
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly timeoutMs: number;
  /** Owner URL for direct provisioning, falling back to DATABASE_URL. */
  readonly databaseUrl: string | undefined;
}

export function loadCliConfig(env: Record<string, string | undefined> = process.env): CliConfig {
  const e = parseConfig('aegis cli', cliEnvSchema, env);
  return Object.freeze({
    url: e.AEGIS_URL.replace(/\/+$/, ''),
    apiKey: e.AEGIS_API_KEY,
    timeoutMs: e.AEGIS_TIMEOUT_MS,
    databaseUrl: e.DATABASE_OWNER_URL || e.DATABASE_URL || undefined,
  });
}
