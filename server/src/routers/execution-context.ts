import { AppError } from '@aegis/shared/errors';
import { safeText } from '@aegis/shared/schemas/text';
import { z } from 'zod';
import type { Context } from '../context.ts';
import type { ExecutionRuntime } from '../execution/runtime.ts';

/** The execution runtime of this server process (routers of orders, positions, P&L, risk, halt). */
export function executionOf(ctx: Pick<Context, 'execution'>): ExecutionRuntime {
  if (!ctx.execution) throw new AppError('UNAVAILABLE', 'execution service is not running in this process');
  return ctx.execution;
}

/** Procedures without parameters still refuse unknown input (strict), like every other input. */
export const noInput = z.strictObject({}).optional();

/**
 * Live streams: an SSE client that saw tracked events sends `lastEventId` back when it
 * reconnects. A stream that resumes reads it (orders, positions); one that starts from the
 * current state each time accepts it and does not need it; anything else is refused.
 */
export const liveStreamInput = z
  .strictObject({ lastEventId: safeText(200, { min: 0 }).nullish() })
  .optional();
