import { AppError } from '@aegis/shared/errors';
import { t } from './init.ts';

/**
 * CSRF: a mutation from a browser carries `Origin`. Cookie-authenticated mutations must come
 * from an allowed origin (PUBLIC_ORIGIN, ALLOWED_ORIGINS); a foreign Origin is refused on every
 * mutation, and a missing Origin is refused when the session cookie is what authenticates it.
 * Bearer-authenticated scripts send no cookie, and a foreign page cannot set Authorization
 * without a CORS preflight, which this server never grants.
 */
export const csrf = t.middleware(({ ctx, type, next }) => {
  if (type !== 'mutation') return next();
  if (ctx.origin !== null) {
    if (!ctx.config.allowedOrigins.includes(normalizeOrigin(ctx.origin))) {
      throw new AppError('FORBIDDEN', 'Origin not allowed', { reason: 'csrf_origin' });
    }
  } else if (ctx.credentials.bearer === null && ctx.credentials.cookieToken !== null) {
    throw new AppError('FORBIDDEN', 'Origin header required', { reason: 'csrf_origin' });
  }
  return next();
});

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}
