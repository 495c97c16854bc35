import { AppError } from '@aegis/shared/errors';
import type { Context } from '../context.ts';
import { verifyApiKey } from './api-keys.ts';
import type { Principal } from './principal.ts';
import { validateSessionToken } from './session.ts';

/**
 * Revocation reaches open subscriptions. A subscription is authorized when it opens, but an SSE
 * stream can stay open for minutes; without this, a revoked API key or an ended session kept
 * receiving a desk's orders until the client went away. So the stream's credentials are checked
 * again before every event and at least every RECHECK_INTERVAL_MS while it is idle, and the
 * stream ends with an UNAUTHORIZED error that says why ("API key revoked", "Session ended").
 *
 * The re-check is the authentication itself (the same functions, the same rules), not a cache:
 * one indexed lookup per event and per interval per open stream.
 */
export const RECHECK_INTERVAL_MS = 5_000;

/**
 * Null while the principal that opened the stream is still valid, else why it is not. It re-checks
 * the credentials the request presented; a principal handed in pre-resolved with none (createCaller
 * in tools and tests) has nothing to re-check and counts as ended, so streams stay HTTP-only.
 */
export async function revocationOf(
  ctx: Context,
  principal: Principal,
  now = new Date(),
): Promise<AppError | null> {
  const { bearer, cookieToken } = ctx.credentials;
  if (principal.kind === 'api_key') {
    if (principal.apiKey.expiresAt && principal.apiKey.expiresAt.getTime() <= now.getTime()) {
      return new AppError('UNAUTHENTICATED', 'API key expired', { reason: 'api_key_expired' });
    }
    const found = bearer ? await verifyApiKey(ctx.db, bearer, now) : null;
    if (!found || found.apiKey.id !== principal.apiKey.id) {
      return new AppError('UNAUTHENTICATED', 'API key revoked', { reason: 'api_key_revoked' });
    }
    return null;
  }
  // Sessions authenticate by bearer (scripts) or cookie (browsers), bearer first (trpc.ts).
  const token = bearer ?? cookieToken;
  const found = token ? await validateSessionToken(ctx.db, ctx.config, token, now) : null;
  if (!found || found.session.id !== principal.session.id) {
    return new AppError('UNAUTHENTICATED', 'Session ended', { reason: 'session_ended' });
  }
  return null;
}

const TICK = Symbol('tick');

/**
 * Yields what `source` yields, calling `recheck` before each event and after every `intervalMs`
 * without one; the first error it throws ends the stream (the client receives it).
 */
export async function* recheckedStream<T>(
  source: AsyncIterable<T>,
  recheck: () => Promise<void>,
  options: { signal?: AbortSignal | undefined; intervalMs?: number } = {},
): AsyncGenerator<T, void, undefined> {
  const { signal, intervalMs = RECHECK_INTERVAL_MS } = options;
  const it = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | null = null;
  try {
    for (;;) {
      if (!pending) {
        pending = it.next();
        // Ending early (revoked) leaves this in flight; its eventual failure is nobody's concern.
        pending.catch(() => {});
      }
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const tick = new Promise<typeof TICK>((resolve) => {
        timer = setTimeout(() => resolve(TICK), intervalMs);
        // The client left: stop at once (a generator busy awaiting here never sees return()).
        onAbort = () => resolve(TICK);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      const next = await Promise.race([pending, tick]).finally(() => {
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      });
      if (signal?.aborted) return;
      await recheck();
      if (next === TICK) continue;
      pending = null;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Not awaited: a source waiting on its feed finishes when the request's signal aborts, and
    // the client must get the error now, not after the next message.
    Promise.resolve(it.return?.()).catch(() => {});
  }
}
