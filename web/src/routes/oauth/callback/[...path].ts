import { forwardToServer } from '../../../server/trpc-proxy.ts';

/**
 * `/oauth/callback/<provider>` on the console's origin → the Aegis server's OAuth callback.
 *
 * Why through the console: the broker redirects the browser back to the redirect URI registered
 * for this deployment, which is the console's origin (PUBLIC_ORIGIN). The session cookie that
 * started the link is HttpOnly and bound to that origin, so the server only sees who is linking
 * when the callback arrives here and is forwarded like `/trpc`. The server's answer (a 303 to
 * `/brokers?linked=<id>` or `/brokers?link_error=<code>`) passes through unchanged: the proxy
 * never follows redirects.
 */
// Providers answer with a GET redirect (query), some with `response_mode=form_post` (POST).
export const GET = forwardToServer;
export const POST = forwardToServer;
