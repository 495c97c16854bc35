import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '@aegis/shared/bus/index';
import { type Logger, lazyChild } from '@aegis/shared/logging';
import type { Sql } from 'postgres';
import type { DecisionsRuntime } from './agent/runtime.ts';
import type { AuthCache } from './auth/auth-cache.ts';
import type { LoginThrottle } from './auth/login-throttle.ts';
import type { OutageAuthorizations } from './auth/outage-authorization.ts';
import type { PasswordHasher } from './auth/password.ts';
import type { Principal } from './auth/principal.ts';
import { parseCookies, sessionCookieName } from './auth/session.ts';
import { requestClientIp } from './client-ip.ts';
import type { Db } from './db/database.ts';
import type { ServerConfig } from './env.ts';
import type { ExecutionRuntime } from './execution/runtime.ts';

/**
 * Request context. `createContextInner` builds it from explicit parts (tests and `createCaller`
 * use it directly, optionally with a pre-resolved principal); `createContextFactory` adapts a
 * Node HTTP request to it. Authentication itself happens in the middleware chain (trpc/authenticate.ts),
 * so public procedures never touch the database for it.
 */

/** Long-lived things one server instance shares across requests. */
export interface ServerDeps {
  readonly config: ServerConfig;
  /** Drizzle on the application role (RLS applies). */
  readonly db: Db;
  /** The raw postgres.js client behind `db` (health checks, LISTEN). */
  readonly sql: Sql;
  readonly log: Logger;
  readonly bus: Bus;
  readonly passwords: PasswordHasher;
  readonly loginThrottle: LoginThrottle;
  /** Per-principal request limiter (server/src/rate-limit/); absent ⇒ no per-call limit. */
  readonly rateLimiter?: RequestRateLimiter;
  /** Signal consumer, decision agent and stream names (server/src/agent/runtime.ts). */
  readonly decisions?: DecisionsRuntime;
  /** Orders, brokers, positions, halt (server/src/execution/runtime.ts). */
  readonly execution?: ExecutionRuntime;
  /** Last-known authorizations for risk-reducing calls during a database outage (trpc.ts §3). */
  readonly outageAuthorizations?: OutageAuthorizations;
  /** Sessions and API keys validated in the last seconds (auth/auth-cache.ts); absent ⇒ none. */
  readonly authCache?: AuthCache;
}

/** What the rate-limit middleware (trpc.ts §3) asks; throws AppError RATE_LIMITED / UNAVAILABLE. */
export interface RequestRateLimiter {
  check(call: {
    key: string;
    path: string;
    type: 'query' | 'mutation' | 'subscription';
    riskReducing?: boolean;
  }): Promise<void>;
}

/** Credentials as they arrived; verified by the authentication middleware. */
export interface RequestCredentials {
  /** `Authorization: Bearer …` value: an API key (`aegis_…`) or a session token (scripts). */
  readonly bearer: string | null;
  /** Session token from the session cookie. */
  readonly cookieToken: string | null;
}

/** Response side effects a procedure may request (cookies); http.ts applies them. */
export interface ResponseSink {
  readonly cookies: string[];
}

export interface CreateContextInnerOptions extends ServerDeps {
  readonly requestId?: string;
  readonly ip?: string | null;
  readonly userAgent?: string | null;
  /** `Origin` header (CSRF check for cookie-authenticated mutations). */
  readonly origin?: string | null;
  readonly credentials?: RequestCredentials;
  /** Pre-resolved principal (tests); when absent the middleware resolves it from credentials. */
  readonly principal?: Principal | null;
}

export interface Context extends ServerDeps {
  readonly requestId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly origin: string | null;
  readonly credentials: RequestCredentials;
  readonly principal: Principal | null;
  /** Child logger bound to requestId (the middleware rebinds it with userId and tenantId). */
  readonly log: Logger;
  readonly response: ResponseSink;
}

export function createContextInner(opts: CreateContextInnerOptions): Context {
  const requestId = opts.requestId ?? randomUUID();
  return {
    config: opts.config,
    db: opts.db,
    sql: opts.sql,
    bus: opts.bus,
    passwords: opts.passwords,
    loginThrottle: opts.loginThrottle,
    ...(opts.rateLimiter ? { rateLimiter: opts.rateLimiter } : {}),
    ...(opts.decisions ? { decisions: opts.decisions } : {}),
    ...(opts.execution ? { execution: opts.execution } : {}),
    ...(opts.outageAuthorizations ? { outageAuthorizations: opts.outageAuthorizations } : {}),
    ...(opts.authCache ? { authCache: opts.authCache } : {}),
    requestId,
    ip: opts.ip ?? null,
    userAgent: opts.userAgent ?? null,
    origin: opts.origin ?? null,
    credentials: opts.credentials ?? { bearer: null, cookieToken: null },
    principal: opts.principal ?? null,
    // Made when the call first writes a line (most write none at the configured level).
    log: lazyChild(opts.log, { requestId }),
    response: { cookies: [] },
  };
}

const MAX_TOKEN_LENGTH = 512;

/** Context factory for the Node HTTP adapter. */
export function createContextFactory(deps: ServerDeps) {
  const cookieName = sessionCookieName(deps.config);
  return function createContext({ req }: { req: IncomingMessage; res: ServerResponse }): Context {
    const auth = req.headers.authorization;
    let bearer: string | null = null;
    if (typeof auth === 'string' && auth.length <= MAX_TOKEN_LENGTH + 7 && /^Bearer /i.test(auth)) {
      bearer = auth.slice(7).trim() || null;
    }
    const cookieToken = parseCookies(req.headers.cookie).get(cookieName) ?? null;
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : null;
    const ua = req.headers['user-agent'];
    return createContextInner({
      ...deps,
      requestId: (req as IncomingMessage & { requestId?: string }).requestId,
      // The socket peer, or what a proven forwarder (the console's, by its per-start secret) or
      // a configured proxy says the client was; anyone else's X-Forwarded-For is ignored.
      ip: requestClientIp(req, deps.config),
      userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null,
      origin,
      credentials: {
        bearer: bearer && bearer.length <= MAX_TOKEN_LENGTH ? bearer : null,
        cookieToken: cookieToken && cookieToken.length <= MAX_TOKEN_LENGTH ? cookieToken : null,
      },
    });
  };
}
