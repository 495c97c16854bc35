import type { APIEvent } from '@solidjs/start/server';
import { webConfig } from '../../env.ts';
import { proxyToServer } from '../../server/trpc-proxy.ts';

/**
 * `/trpc/**` on the console's origin → the Aegis server (see server/trpc-proxy.ts for why).
 * tRPC uses GET for queries and subscriptions (SSE) and POST for mutations and batches.
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

export const GET = forward;
export const POST = forward;
export const HEAD = forward;
