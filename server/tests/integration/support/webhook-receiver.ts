/**
 * A desk's webhook receiver for the alert tests: a real local HTTP server that checks every
 * delivery's timestamp and signature the way docs/alerts.md tells receivers to, and a test server
 * whose alert scanner and sender run fast enough for a test (fixed retry schedule, localhost
 * targets allowed).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseTokenKeys, TokenCrypto } from '@aegis/shared/crypto/token-crypto';
import { startTestServer, type TestServer } from '../test-server.ts';

/** A receiver's check: timestamp within 5 minutes, then HMAC-SHA256 over `<ts>.<body>`. */
export function verifyDelivery(
  secret: string,
  ts: string | undefined,
  sig: string | undefined,
  body: string,
): boolean {
  if (!ts || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`);
  const given = Buffer.from(sig ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** One delivery as the receiver saw it, before it answers. */
export interface Delivery {
  readonly path: string;
  readonly body: string;
  readonly event: string | undefined;
  readonly delivery: string | undefined;
  /** Signed with the secret the receiver keeps for this path, with a fresh timestamp. */
  readonly verified: boolean;
}

export interface WebhookReceiver {
  readonly url: string;
  /** The signing secret of each endpoint path, as the receiver keeps it. */
  readonly secrets: Map<string, string>;
  close(): Promise<void>;
}

/** Listens on loopback; `answer` records the delivery and writes the response. */
export async function startWebhookReceiver(
  answer: (d: Delivery, res: ServerResponse, req: IncomingMessage) => void,
): Promise<WebhookReceiver> {
  const secrets = new Map<string, string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const secret = secrets.get(path);
      const header = (name: string) => req.headers[name] as string | undefined;
      answer(
        {
          path,
          body,
          event: header('x-aegis-event'),
          delivery: header('x-aegis-delivery'),
          verified:
            secret !== undefined &&
            verifyDelivery(secret, header('x-aegis-timestamp'), header('x-aegis-signature'), body),
        },
        res,
        req,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    secrets,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A test server whose alerts are scanned every 200 ms and sent every 100 ms, retried on `retryScheduleMs`. */
export function startAlertingServer(o: {
  readonly execution: NonNullable<Parameters<typeof startTestServer>[0]>['execution'];
  readonly retryScheduleMs: readonly number[];
}): Promise<TestServer> {
  const key = randomBytes(32).toString('base64');
  return startTestServer({
    rateLimiter: null,
    execution: o.execution,
    env: { TOKEN_ENCRYPTION_KEY: key },
    alerts: {
      crypto: new TokenCrypto(parseTokenKeys(undefined, key)),
      targets: { allowLocalhost: true },
      scanIntervalMs: 200,
      sendIntervalMs: 100,
      delivery: { retryScheduleMs: [...o.retryScheduleMs], jitter: 0.2 },
    },
  });
}
