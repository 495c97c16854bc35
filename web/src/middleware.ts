import { randomBytes } from 'node:crypto';
import { createMiddleware } from '@solidjs/start/middleware';

/**
 * Runs before every page and API route of the console.
 *
 * 1. Security headers on pages. A trading console must not be framed (clickjacking on an
 *    "approve" button), must not run injected scripts, and must only talk to its own origin.
 *    Scripts need a per-response nonce: SolidStart's hydration bootstrap is inline, and it
 *    carries the nonce the handler receives (entry-server.tsx). Styles allow inline because
 *    components set `style` attributes; style injection cannot run code.
 * 2. Sends a browser without any session cookie straight to /login, before the console's shell
 *    is rendered (no flash of an empty console). It only checks the cookie's presence: the
 *    server validates it on every call, and an expired session is redirected by the console
 *    itself when a call answers UNAUTHORIZED. The server names the cookie `__Host-aegis_session`
 *    over https and `aegis_session` over plain http (server/src/auth/session.ts).
 */
const SESSION_COOKIE = /(?:^|;\s*)(?:__Host-)?aegis_session=[^;]/;
const PUBLIC_PREFIXES = ['/login', '/trpc', '/_build', '/_server', '/assets', '/favicon', '/.vite'];

function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export default createMiddleware({
  onRequest: (event) => {
    const { request } = event;
    const url = new URL(request.url);
    if (url.pathname === '/trpc' || url.pathname.startsWith('/trpc/')) return;
    // The broker's OAuth redirect back to us: forwarded to the server as is (it answers with a
    // redirect, and decides itself what a visit without a session means).
    if (url.pathname.startsWith('/oauth/callback/')) return;

    const nonce = randomBytes(16).toString('base64');
    event.locals.nonce = nonce;
    const headers = event.response.headers;
    headers.set('content-security-policy', contentSecurityPolicy(nonce));
    headers.set('x-frame-options', 'DENY');
    headers.set('x-content-type-options', 'nosniff');
    headers.set('referrer-policy', 'same-origin');
    headers.set('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');

    if (request.method !== 'GET') return;
    if (PUBLIC_PREFIXES.some((p) => url.pathname === p || url.pathname.startsWith(`${p}/`))) return;
    if (!request.headers.get('accept')?.includes('text/html')) return;
    if (SESSION_COOKIE.test(request.headers.get('cookie') ?? '')) return;
    const next = url.pathname + url.search;
    const location = next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`;
    return new Response(null, { status: 302, headers: { location, 'cache-control': 'no-store' } });
  },
});
