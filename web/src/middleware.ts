import { createMiddleware } from '@solidjs/start/middleware';

/**
 * Sends a browser without any session cookie straight to /login, before the console's shell is
 * rendered (no flash of an empty console). It only checks the cookie's presence: the server
 * validates it on every call, and an expired session is redirected by the console itself when
 * `auth.me` answers UNAUTHORIZED. The server names the cookie `__Host-aegis_session` over https
 * and `aegis_session` over plain http (server/src/auth/session.ts).
 */
const SESSION_COOKIE = /(?:^|;\s*)(?:__Host-)?aegis_session=[^;]/;
const PUBLIC_PREFIXES = ['/login', '/trpc', '/_build', '/_server', '/assets', '/favicon', '/.vite'];

export default createMiddleware({
  onRequest: (event) => {
    const { request } = event;
    if (request.method !== 'GET') return;
    const url = new URL(request.url);
    if (PUBLIC_PREFIXES.some((p) => url.pathname === p || url.pathname.startsWith(`${p}/`))) return;
    if (!request.headers.get('accept')?.includes('text/html')) return;
    if (SESSION_COOKIE.test(request.headers.get('cookie') ?? '')) return;
    const next = url.pathname + url.search;
    const location = next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`;
    return new Response(null, { status: 302, headers: { location, 'cache-control': 'no-store' } });
  },
});
