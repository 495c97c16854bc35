import { AppError, type ErrorCode } from '@aegis/shared/errors';
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { ZodError, type z } from 'zod';
import { BrokerError } from './brokers/types.ts';
import { unavailableOf } from './transient-errors.ts';

/**
 * The one place where domain errors become tRPC errors. Domain code throws `AppError`; a
 * middleware at the root of every procedure (trpc.ts §2) passes failures through `toTRPCError`.
 */
const CODE_MAP: Record<ErrorCode, TRPC_ERROR_CODE_KEY> = {
  BAD_INPUT: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  RISK_DENIED: 'UNPROCESSABLE_CONTENT',
  HALTED: 'PRECONDITION_FAILED',
  ILLEGAL_TRANSITION: 'CONFLICT',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

export function trpcCodeOf(code: ErrorCode): TRPC_ERROR_CODE_KEY {
  return CODE_MAP[code];
}

/**
 * Maps an AppError (possibly wrapped by tRPC as the cause) to a TRPCError that keeps it as cause.
 * A database or Redis that cannot be reached right now is the service being unavailable, not a
 * bug: 503 with Retry-After (transient-errors.ts), so clients retry instead of reporting a 500.
 */
export function toTRPCError(error: unknown): TRPCError {
  const app = findAppError(error) ?? unavailableOf(error);
  if (app) {
    // INTERNAL AppErrors are still internal: their message is not for the client.
    return new TRPCError({ code: CODE_MAP[app.code], message: app.message, cause: app });
  }
  if (error instanceof TRPCError) return error;
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error instanceof Error ? error : undefined });
}

export function findAppError(error: unknown): AppError | undefined {
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof BrokerError) return appErrorOfBroker(e);
    if (e instanceof AppError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A broker failure met in a request path (brokers.sync, an account read), as the client sees it.
 * BrokerError is an AppError whose code is derived from its broker code (brokers/types.ts), so it
 * maps through CODE_MAP like any other; here it only gains the words the client reads: the
 * message names the broker and the call (the adapter's message follows; adapters put no secrets
 * in messages or context), and a rate limit carries the broker's Retry-After as
 * `retryAfterSeconds` (the response's Retry-After header). `details` stay BrokerErrorDetails
 * (shared/src/schemas/broker.ts): which broker, which call, its code, whether a retry can help.
 */
export function appErrorOfBroker(e: BrokerError): AppError {
  const details: Record<string, unknown> = { ...e.details };
  const retryAfter = e.context.retryAfterS;
  if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter > 0)
    details.retryAfterSeconds = retryAfter;
  return new AppError(e.code, `${e.broker} ${e.operation}: ${e.message}`, details, { cause: e });
}

export function findZodError(error: unknown): ZodError | undefined {
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof ZodError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Field-level problems of an input, `path` joined with dots; never the offending value. An
 * unknown key is its own field (`order.tenantId: unknown key`), so the client learns which key
 * to remove rather than "(input): Unrecognized key".
 */
export function zodFieldErrors(error: ZodError): { path: string; message: string }[] {
  return fieldErrorsOf(error.issues, []);
}

function fieldErrorsOf(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]) {
  return issues.flatMap((issue): { path: string; message: string }[] => {
    const at = [...prefix, ...issue.path].map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...at, key].join('.'), message: 'unknown key' }));
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // No shape matched: report the branch that came closest (fewest problems), field by field,
      // rather than "(input): Invalid input".
      const closest = issue.errors.reduce((best, branch) => (branch.length < best.length ? branch : best));
      if (closest.length > 0) return fieldErrorsOf(closest, [...prefix, ...issue.path]);
    }
    return [{ path: at.join('.') || '(input)', message: issue.message }];
  });
}

/**
 * True when the client must not see the message: an unexpected error (a bug, a driver error)
 * or an AppError explicitly marked INTERNAL.
 */
export function isInternal(error: TRPCError): boolean {
  if (error.code !== 'INTERNAL_SERVER_ERROR') return false;
  return true;
}

/** Seconds the client should wait, when the error says so (rate limits, throttles). */
export function retryAfterSecondsOf(error: unknown): number | undefined {
  const app = findAppError(error);
  const v = app?.details?.retryAfterSeconds;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.ceil(v) : undefined;
}
