import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  checkTargetUrl,
  guardedLookup,
  isLoopbackHost,
  isTargetRefused,
  type TargetPolicy,
} from './target-guard.ts';

export interface SendResult {
  /** HTTP status, or null when no response came (refused, timeout, network error). */
  readonly statusCode: number | null;
  readonly latencyMs: number;
  /** Short, secret-free reason when not delivered (never the URL: its path may be a credential). */
  readonly error: string | null;
  readonly delivered: boolean;
}

const MAX_RESPONSE_BYTES = 16 * 1024;

/**
 * One POST: the target re-checked, addresses checked as the socket connects, a hard timeout over
 * the whole exchange, redirects not followed (a 3xx is a failed attempt), the response body read
 * up to 16 KiB and discarded. Only a 2xx counts as delivered.
 */
export function postWebhook(
  rawUrl: string,
  headers: Record<string, string>,
  body: string,
  opts: { policy: TargetPolicy; timeoutMs: number },
): Promise<SendResult> {
  const started = performance.now();
  const done = (statusCode: number | null, error: string | null): SendResult => ({
    statusCode,
    latencyMs: Math.max(0, Math.round(performance.now() - started)),
    error,
    delivered: statusCode !== null && statusCode >= 200 && statusCode < 300,
  });
  let url: URL;
  try {
    url = checkTargetUrl(rawUrl, opts.policy);
  } catch (err) {
    return Promise.resolve(done(null, `refused: ${(err as Error).message}`));
  }
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Aegis-Webhooks/1',
        },
        lookup: guardedLookup(opts.policy, isLoopbackHost(url)) as never,
        agent: false,
      },
      (res) => {
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_RESPONSE_BYTES) res.destroy();
        });
        const status = res.statusCode ?? null;
        const end = () =>
          finish(
            done(
              status,
              status !== null && status >= 200 && status < 300
                ? null
                : status !== null && status >= 300 && status < 400
                  ? `HTTP ${status} (redirects are not followed)`
                  : `HTTP ${status}`,
            ),
          );
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(done(null, `timeout after ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const reason = isTargetRefused(err)
        ? `refused: ${err.message}`
        : err.code
          ? `network: ${err.code}`
          : `network: ${err.message.slice(0, 200)}`;
      finish(done(null, reason));
    });
    req.end(body);
  });
}
