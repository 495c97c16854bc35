import { z } from 'zod';
import { AppError, ErrorCode, isAppErrorFor } from './errors.ts';

/**
 * Config parsing shared by every app: each app declares one zod object for its environment,
 * parses it once at start and freezes the result. A failure lists every bad variable by name
 * and never echoes a value (values may be secrets).
 */

const INVALID_CONFIG = 'invalid_config';

/**
 * An invalid configuration: an AppError BAD_INPUT with reason `invalid_config` and the list of
 * issues (`details.issues`), not a class. Every app's edge only asks "is it the configuration,
 * and which variables" (`configIssuesOf`) to print them and stop.
 */
export function configError(app: string, issues: readonly string[]): AppError {
  return new AppError(
    ErrorCode.BAD_INPUT,
    `${app}: invalid configuration\n${issues.map((i) => `  - ${i}`).join('\n')}`,
    { reason: INVALID_CONFIG, app, issues: [...issues] },
  );
}

/** True for `configError`. */
export const isConfigError = (e: unknown): e is AppError =>
  isAppErrorFor(e, ErrorCode.BAD_INPUT, INVALID_CONFIG);

/** Each issue of an invalid configuration (`configError`); undefined for any other error. */
export function configIssuesOf(e: unknown): readonly string[] | undefined {
  return isConfigError(e) ? (e.details?.issues as readonly string[]) : undefined;
}

export function parseConfig<S extends z.ZodType>(
  app: string,
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.output<S>> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(root)';
      // Only the variable name and the rule it broke: the offending value may be a secret.
      const received = env[String(issue.path[0])] === undefined ? 'missing' : 'invalid';
      return `${name}: ${received} (${issue.message})`;
    });
    throw configError(app, issues);
  }
  return deepFreeze(result.data) as Readonly<z.output<S>>;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Env helpers: strings from the environment turned into typed values. */
export const envBool = (defaultValue: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const envPort = (defaultValue: number) =>
  z.coerce.number().int().min(1).max(65535).default(defaultValue);

export const envInt = (defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(defaultValue);

export const envUrl = () => z.string().url();

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');
