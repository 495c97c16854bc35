import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Server } from 'node:net';

/**
 * The HTTP plumbing the fake venues and brokers share (fake-alpaca.ts, fake-binance.ts,
 * fake-coinbase.ts, fake-ibkr-gateway.ts, fake-okx.ts): listening on a loopback port, closing
 * with the clients' keep-alive connections cut, reading a request body, checking an HMAC
 * signature, and the scripted faults a test arms on the next matching calls; and a closed port
 * for tests of an unreachable service.
 */

/** Listens on 127.0.0.1 (`port` 0: any free port) and returns the port (HTTP or HTTPS). */
export async function listenLoopback(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A loopback port nothing listens on (one a server held a moment ago): connecting is refused. */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  const port = await listenLoopback(srv);
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Closes the server, cutting open connections first so keep-alive clients do not hold it. */
export async function closeServer(server: (Server & { closeAllConnections(): void }) | null): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The whole request body as UTF-8 text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** True when `signature` (in `encoding`) is the HMAC-SHA256 of `payload` under `secret`, compared in constant time. */
export function hmacMatches(
  secret: string,
  payload: string,
  signature: string,
  encoding: 'hex' | 'base64',
): boolean {
  const expected = createHmac('sha256', secret).update(payload).digest();
  const given = Buffer.from(signature, encoding);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A scripted fault on the next calls that match its method and path. */
export interface FaultRule {
  readonly method?: string;
  /** Exact path, or a pattern over it (no query). */
  readonly path?: string | RegExp;
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Answer this late (each fake says whether the call is carried out first). */
  readonly delayMs?: number;
  /** How many matching calls it applies to. Default 1. */
  readonly times?: number;
}

/** The armed faults of one fake, each used up after its `times` matching calls. */
export class Faults<R extends FaultRule = FaultRule> {
  readonly #armed: { rule: R; left: number }[] = [];

  arm(rule: R): void {
    this.#armed.push({ rule, left: rule.times ?? 1 });
  }

  /** The first armed rule matching this call, counted as used; null when none. */
  take(method: string, path: string): R | null {
    const i = this.#armed.findIndex(
      ({ rule: f }) =>
        (!f.method || f.method === method) &&
        (!f.path || (typeof f.path === 'string' ? f.path === path : f.path.test(path))),
    );
    if (i < 0) return null;
    const armed = this.#armed[i]!;
    if (--armed.left <= 0) this.#armed.splice(i, 1);
    return armed.rule;
  }
}
