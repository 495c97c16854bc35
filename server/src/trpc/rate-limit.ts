import { t } from './init.ts';

/**
 * Per-principal rate limit (server/src/rate-limit/). The limiter is optional in the deps so this
 * module does not depend on its implementation; startServer wires it.
 */
export const rateLimit = t.middleware(async ({ ctx, path, type, meta, next }) => {
  const limiter = ctx.rateLimiter;
  if (limiter) {
    const p = ctx.principal;
    // Before authentication (login) the caller is its IP.
    const key = p
      ? p.kind === 'api_key'
        ? `key:${p.apiKey.id}`
        : `session:${p.session.id}`
      : `ip:${ctx.ip ?? 'unknown'}`;
    await limiter.check({ key, path, type, riskReducing: meta?.riskReducing === true });
  }
  return next();
});
