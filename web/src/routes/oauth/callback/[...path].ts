import type { APIEvent } from '@solidjs/start/server';
import { webConfig } from '../../../env.ts';
import { proxyToServer } from '../../../server/trpc-proxy.ts';

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
function forward(event: APIEvent): Promise<Response> {
  const config = webConfig();
  return proxyToServer(event.request, {
    serverUrl: config.SERVER_URL,
    clientAddress: event.clientAddress,
    headersTimeoutMs: config.WEB_PROXY_TIMEOUT_MS,
    forwarderSecret: config.FORWARDER_SECRET,
  });
}

// Providers answer with a GET redirect (query), some with `response_mode=form_post` (POST).
export const GET = forward;
export const POST = forward;
