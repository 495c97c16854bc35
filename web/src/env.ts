import { envPort, logLevel, parseConfig } from '@aegis/shared/config';
import { z } from 'zod';

/**
 * The web server's configuration, read at runtime (not at build time) by server-side code only:
 * one built `.output` runs against any server. Never import this module from code that reaches
 * the browser bundle.
 *
 * The HTTP listener itself is nitro's node-server preset, which reads `PORT`/`HOST` (or
 * `NITRO_PORT`/`NITRO_HOST`); the launcher sets them from WEB_PORT/WEB_HOST. They are validated
 * here too so a bad value fails loudly with the variable's name.
 */
const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('production'),
  LOG_LEVEL: logLevel,
  WEB_PORT: envPort(3000),
  WEB_HOST: z.string().min(1).default('127.0.0.1'),
  /** Where the tRPC server listens; `/trpc/**` is forwarded there. */
  SERVER_URL: z
    .string()
    .default('http://127.0.0.1:4000')
    .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'must be an http(s) URL'),
  /** Milliseconds to wait for the server's response headers before answering 504. */
  WEB_PROXY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /**
   * Sent to the server with every forwarded call so it believes the browser's address this
   * process states (X-Forwarded-For). `npm start` generates one per start for both processes;
   * a separate deployment sets the same value on the server and here. Unset: the server sees
   * every browser as this process's address unless it lists it in TRUSTED_PROXIES.
   */
  FORWARDER_SECRET: z
    .string()
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? undefined : s))
    .refine((s) => s === undefined || s.length >= 32, 'must be at least 32 characters'),
});

export type WebConfig = Readonly<z.output<typeof schema>>;

let cached: WebConfig | undefined;

/** Parsed once, on first use in the server process, then frozen. */
export function webConfig(): WebConfig {
  cached ??= parseConfig('web', schema, {
    ...process.env,
    // nitro's listener reads PORT/HOST; accept them as the fallback source for WEB_PORT/WEB_HOST.
    WEB_PORT: process.env.WEB_PORT ?? process.env.NITRO_PORT ?? process.env.PORT,
    WEB_HOST: process.env.WEB_HOST ?? process.env.NITRO_HOST ?? process.env.HOST,
  });
  return cached;
}

/** The schema itself, for the generated configuration reference (tools/config-reference.ts). */
export { schema as webEnvSchema };
