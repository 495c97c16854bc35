import type { Context } from '../context.ts';
import { findAppError, toTRPCError } from '../errors.ts';
import { AccessDenied, recordDenial } from './authorization.ts';
import { t } from './init.ts';

/** Root of every procedure: maps domain errors (errors.ts) and logs each call's outcome. */
export const observe = t.middleware(async ({ ctx, path, type, next }) => {
  const started = performance.now();
  const result = await next();
  const ms = Math.round((performance.now() - started) * 10) / 10;
  if (result.ok) {
    ctx.log.debug({ path, type, ms }, 'call ok');
    // A subscription's errors happen later, while it is iterated: map them the same way.
    if (type === 'subscription' && isAsyncIterable(result.data)) {
      return { ...result, data: mapIterationErrors(result.data, ctx, path) };
    }
    return result;
  }
  const error = toTRPCError(result.error);
  const app = findAppError(error);
  if (app instanceof AccessDenied) await recordDenial(ctx, path, app);
  if (loggedFailures.has(result.error)) {
    // Already logged by logFailures, with the user and desk bound.
  } else if (error.code === 'INTERNAL_SERVER_ERROR') {
    ctx.log.error({ path, type, ms, err: error.cause ?? error }, 'call failed: unexpected error');
  } else if (app?.code === 'UNAVAILABLE' && app.cause !== undefined) {
    // A database or Redis that went away (transient-errors.ts): 503 to the client, the driver's
    // error here (serialized without bind values) to tell a restart from an outage.
    ctx.log.warn(
      { path, type, ms, code: error.code, reason: app.details?.reason, err: app.cause },
      'call failed: service unavailable',
    );
  } else {
    ctx.log.info({ path, type, ms, code: error.code, appCode: findAppError(error)?.code }, 'call refused');
  }
  throw error;
});

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Re-throws what a subscription throws mid-stream as the mapped TRPCError (and logs bugs). */
async function* mapIterationErrors(iterable: AsyncIterable<unknown>, ctx: Context, path: string) {
  try {
    // yield* forwards return() to the source, so its finally blocks run when the client leaves.
    yield* iterable;
  } catch (e) {
    const error = toTRPCError(e);
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      ctx.log.error(
        { path, type: 'subscription', err: error.cause ?? error },
        'subscription failed: unexpected error',
      );
    }
    throw error;
  }
}

/** Failures logged by the innermost middleware (with user and desk), so observe skips them. */
const loggedFailures = new WeakSet<object>();

/** Innermost: logs an unexpected failure with the fully bound logger (requestId, userId, tenantId). */
export const logFailures = t.middleware(async ({ ctx, path, type, next }) => {
  const result = await next();
  if (!result.ok && toTRPCError(result.error).code === 'INTERNAL_SERVER_ERROR') {
    ctx.log.error({ path, type, err: result.error.cause ?? result.error }, 'call failed: unexpected error');
    loggedFailures.add(result.error);
  }
  return result;
});
