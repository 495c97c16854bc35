import { initTRPC } from '@trpc/server';
import type { ApiKeyScope, Permission } from '../auth/permissions.ts';
import type { Context } from '../context.ts';
import { findAppError, findZodError, zodFieldErrors } from '../errors.ts';

/** initTRPC, what each procedure declares, and the error formatter. */

/** What each procedure declares. `public` marks the few procedures that need no principal. */
export interface ProcedureMeta {
  /** API-key scope required; must equal the matrix's scope for the permission. */
  readonly scope: ApiKeyScope | 'public';
  /** Action in the permission matrix. */
  readonly permission: Permission | 'public';
  /** Extra strictness on top of the matrix (never looser): human session only. */
  readonly humanOnly?: boolean;
  /**
   * Extra strictness on top of the matrix: password re-entered within the window. `true` also
   * makes the procedure human-only. `'session'`: a signed-in person must have re-entered the
   * password, while an API key with the matrix's scope passes (it has no password to re-enter) —
   * for risk-reducing actions a script must be able to take (engaging a halt).
   */
  readonly reauth?: boolean | 'session';
  /**
   * Only reduces risk (halt, cancel, the re-entry that halting needs, logout): still rate
   * limited, but keeps working when the limiter's store (Redis) is down.
   */
  readonly riskReducing?: boolean;
  /**
   * Verifies a password (sign-in, re-entry, change): never accepted inside a tRPC batch, so one
   * request cannot carry many guesses (http.ts refuses such a batch before any call runs).
   */
  readonly verifiesPassword?: boolean;
  /**
   * The procedure opens its own transactions (orders.place: the per-desk group commit). No
   * request transaction is held open while it runs: the caller's role is read in one statement
   * and `ctx.tx` refuses use, as for subscriptions.
   */
  readonly ownTransactions?: boolean;
}

export interface ErrorData {
  readonly code: string;
  readonly httpStatus: number;
  readonly path?: string;
  readonly requestId: string | null;
  /** The domain error code (AppError), when there is one. */
  readonly appCode: string | null;
  /** Client-safe details of a domain error (e.g. reason, retryAfterSeconds, violated rule). */
  readonly details: Readonly<Record<string, unknown>> | null;
  /** Invalid input: one entry per field, path joined with dots. */
  readonly fields: readonly { path: string; message: string }[] | null;
}

export const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    // Never send stack traces, whatever NODE_ENV says.
    isDev: false,
    sse: {
      // A subscription is authorized when it opens and re-checked on every event and every 5 s
      // (subscription-recheck.ts). Ending each stream after 10 minutes as well makes clients
      // reconnect (resuming from their last tracked event id) through the full middleware chain.
      maxDurationMs: 10 * 60_000,
      ping: { enabled: true, intervalMs: 15_000 },
      client: { reconnectAfterInactivityMs: 30_000 },
    },
    errorFormatter({ shape, error, ctx }) {
      const requestId = ctx?.requestId ?? null;
      const zod = error.code === 'BAD_REQUEST' ? findZodError(error) : undefined;
      const app = findAppError(error);
      const internal = error.code === 'INTERNAL_SERVER_ERROR';
      // A domain error about one input field (a reference not found on the desk) names it too.
      const field = typeof app?.details?.field === 'string' ? app.details.field : null;
      const fields = zod
        ? zodFieldErrors(zod)
        : field && !internal
          ? [{ path: field, message: app!.message.replace(`${field}: `, '') }]
          : null;
      let message = shape.message;
      // Unexpected errors: the cause is logged (observe middleware / http onError), the client
      // gets a generic message and the request id to quote.
      if (internal) message = `Internal server error (request ${requestId ?? 'unknown'})`;
      else if (zod && fields)
        message = `Invalid input: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`;
      const data: ErrorData = {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        ...(shape.data.path ? { path: shape.data.path } : {}),
        requestId,
        appCode: internal ? null : (app?.code ?? null),
        details: internal ? null : (app?.details ?? null),
        fields,
      };
      return { message, code: shape.code, data };
    },
  });
