import { createLogger } from '@aegis/shared/logging';
import { webConfig } from '../env.ts';

/**
 * Forwards `/trpc/**` from the console's origin to the Aegis server.
 *
 * Why a proxy instead of letting the browser call the server directly: the session cookie is
 * HttpOnly, SameSite=Lax and (over https) `__Host-` prefixed, so it must be set and sent by the
 * origin the console is served from. Same-origin calls also need no CORS, and the server's CSRF
 * check sees the console's own `Origin`, which it allows (PUBLIC_ORIGIN).
 *
 * What it preserves: method, path and query verbatim (tRPC batches put `a.b,c.d` in the path),
 * the request body as a stream, Cookie, Origin, Authorization, Content-Type, `trpc-accept`,
 * `Last-Event-ID` (SSE resumption) and every response header including each `Set-Cookie`
 * separately. Response bodies are streamed, never buffered, so SSE subscriptions flow through
 * event by event. A client that disconnects aborts the upstream request, which ends the server's
 * async generator.
 */

// Hop-by-hop headers (RFC 9110 §7.6.1) and those the fetch layer recomputes.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

const log = createLogger({ name: 'web.trpc-proxy', level: webConfig().LOG_LEVEL });

export interface ProxyOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:4000. */
  serverUrl: string;
  /** Address of the browser as seen by this process (appended to X-Forwarded-For). */
  clientAddress?: string | undefined;
  /** Abort when the server has not sent response headers within this many milliseconds. */
  headersTimeoutMs: number;
  /**
   * The per-start secret (FORWARDER_SECRET) that proves to the server this is the console's
   * forwarder, so it believes the X-Forwarded-For stated here (server/src/client-ip.ts).
   */
  forwarderSecret?: string | undefined;
}

/** Must match the server's FORWARDER_HEADER (server/src/client-ip.ts). */
export const FORWARDER_HEADER = 'x-aegis-forwarder';

export async function proxyToServer(request: Request, options: ProxyOptions): Promise<Response> {
  const incoming = new URL(request.url);
  const target = new URL(incoming.pathname + incoming.search, options.serverUrl);

  const headers = new Headers();
  for (const [name, value] of request.headers) {
    // A browser (or anyone) sending the forwarder header gets nothing from it: it is never
    // passed on, only set below from this process's own configuration.
    if (!HOP_BY_HOP.has(name) && name !== FORWARDER_HEADER) headers.append(name, value);
  }
  if (options.forwarderSecret) headers.set(FORWARDER_HEADER, options.forwarderSecret);
  // The server believes X-Forwarded-For only from a proven forwarder (the secret above) or a
  // configured proxy; we always state it.
  const forwardedFor = request.headers.get('x-forwarded-for');
  if (options.clientAddress) {
    headers.set(
      'x-forwarded-for',
      forwardedFor ? `${forwardedFor}, ${options.clientAddress}` : options.clientAddress,
    );
  }
  headers.set('x-forwarded-host', incoming.host);
  headers.set('x-forwarded-proto', incoming.protocol.replace(':', ''));
  // fetch would transparently decompress; ask for identity so bytes pass through untouched.
  headers.set('accept-encoding', 'identity');

  // Abort upstream when the browser goes away, or when the server is silent for too long
  // before answering (headers only: a live SSE stream may legitimately run for hours).
  const headersDeadline = new AbortController();
  const timer = setTimeout(
    () => headersDeadline.abort(new Error('upstream headers timeout')),
    options.headersTimeoutMs,
  );
  const signal = AbortSignal.any([request.signal, headersDeadline.signal]);

  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = {
    method: request.method,
    headers,
    redirect: 'manual',
    signal,
  };
  if (hasBody && request.body) {
    init.body = request.body;
    init.duplex = 'half';
  }

  let upstream: Response;
  try {
    upstream = await fetch(target, init);
  } catch (error) {
    if (request.signal.aborted) return new Response(null, { status: 499 });
    const timedOut = headersDeadline.signal.aborted;
    log.warn({ err: error, path: incoming.pathname, timedOut }, 'trpc upstream request failed');
    return upstreamFailure(timedOut ? 504 : 502, timedOut ? 'GATEWAY_TIMEOUT' : 'BAD_GATEWAY');
  } finally {
    clearTimeout(timer);
  }

  const responseHeaders = new Headers();
  // Iterating Headers yields each Set-Cookie on its own (Fetch spec), so append keeps them apart.
  for (const [name, value] of upstream.headers) {
    if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') responseHeaders.append(name, value);
  }
  if (upstream.headers.get('content-type')?.startsWith('text/event-stream')) {
    // Ask any further proxy (nginx) not to buffer the event stream.
    responseHeaders.set('x-accel-buffering', 'no');
    responseHeaders.set('cache-control', 'no-cache, no-transform');
  }
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeaders,
  });
}

/**
 * A tRPC-shaped error body, so the client reports "server unreachable" as a normal
 * TRPCClientError instead of a JSON parse failure. For batched calls the client applies a
 * non-array error body to every operation of the batch.
 */
function upstreamFailure(status: 502 | 504, code: 'BAD_GATEWAY' | 'GATEWAY_TIMEOUT'): Response {
  const message =
    status === 502 ? 'The Aegis server is unreachable.' : 'The Aegis server did not answer in time.';
  return Response.json(
    { error: { message, code: -32603, data: { code, httpStatus: status } } },
    { status, headers: { 'cache-control': 'no-store' } },
  );
}

/**
 * A console route's request, forwarded to the server this deployment is configured with
 * (SERVER_URL, WEB_PROXY_TIMEOUT_MS, FORWARDER_SECRET): the handler of `/trpc/**` and of the
 * OAuth callback.
 */
export function forwardToServer(event: {
  request: Request;
  clientAddress?: string | undefined;
}): Promise<Response> {
  const config = webConfig();
  return proxyToServer(event.request, {
    serverUrl: config.SERVER_URL,
    clientAddress: event.clientAddress,
    headersTimeoutMs: config.WEB_PROXY_TIMEOUT_MS,
    forwarderSecret: config.FORWARDER_SECRET,
  });
}
