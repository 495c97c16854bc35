import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseCookies, sessionCookieName } from '../session.ts';
import { completeLink, type OAuthDeps } from './link-service.ts';

/**
 * GET /oauth/callback/<provider>: where a provider sends the browser back (the console forwards
 * the path, so the session cookie is same-origin). Always ends with a 303 to the console's
 * Brokers page: `?linked=<connection id>` or `?link_error=<code>`. The response is never cached
 * and sends no Referer onwards (the URL carried the authorization code: RFC 9700 §4.2.4).
 */
export const OAUTH_CALLBACK_PREFIX = '/oauth/callback/';

const MAX_PARAM = 2048;

export function handleOAuthCallback(
  req: IncomingMessage,
  res: ServerResponse,
  providerSegment: string,
  deps: OAuthDeps,
): void {
  const url = new URL(req.url ?? '/', 'http://callback.invalid');
  const param = (name: string) => {
    const v = url.searchParams.get(name);
    return v && v.length <= MAX_PARAM ? v : null;
  };
  let provider: string;
  try {
    provider = decodeURIComponent(providerSegment);
  } catch {
    provider = '';
  }
  const cookieToken = parseCookies(req.headers.cookie).get(sessionCookieName(deps.config)) ?? null;
  const done = (query: string) => {
    res.writeHead(303, {
      location: `${deps.config.publicOrigin}/brokers?${query}`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    res.end();
  };
  completeLink(deps, cookieToken, provider, {
    state: param('state'),
    code: param('code'),
    error: param('error'),
    iss: param('iss'),
  }).then(
    (out) =>
      done(
        out.ok
          ? `linked=${encodeURIComponent(out.connectionId)}`
          : `link_error=${out.code}${out.connectionId ? `&connection=${encodeURIComponent(out.connectionId)}` : ''}`,
      ),
    (err: unknown) => {
      deps.log.error({ err, provider }, 'oauth callback failed');
      done('link_error=internal');
    },
  );
}
