import { AppError } from '@aegis/shared/errors';
import { TRPCError } from '@trpc/server';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { retryAfterSecondsOf, toTRPCError } from './errors.ts';
import { transientKindOf } from './transient-errors.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
const pg = (code: string) =>
  new postgres.PostgresError({ severity: 'FATAL', code, message: 'terminating connection' } as never);

describe('transient failures: a backing service unreachable right now', () => {
  it('classifies PostgreSQL going away, driver connection errors and sockets', () => {
    for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300'])
      expect(transientKindOf(pg(code))).toBe('database');
    for (const code of ['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT'])
      expect(transientKindOf(withCode(`write ${code} 127.0.0.1:5432`, code))).toBe('database');
    expect(transientKindOf(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(
      'connection',
    );
    const refusedEverywhere = Object.assign(new AggregateError([withCode('x', 'ECONNREFUSED')]), {});
    expect(transientKindOf(refusedEverywhere)).toBe('connection');
  });

  it('classifies Redis connection loss', () => {
    expect(transientKindOf(new Error('Connection is closed.'))).toBe('redis');
    const maxRetries = new Error('Reached the max retries per request limit (which is 1).');
    maxRetries.name = 'MaxRetriesPerRequestError';
    expect(transientKindOf(maxRetries)).toBe('redis');
  });

  it('leaves request and code errors alone', () => {
    for (const code of ['22021', '23505', '42703', '40001', '57014'])
      expect(transientKindOf(pg(code))).toBeNull();
    expect(transientKindOf(new TypeError('x is undefined'))).toBeNull();
    expect(transientKindOf(new AppError('NOT_FOUND', 'nope'))).toBeNull();
  });

  it('maps through drizzle and tRPC wrappers to SERVICE_UNAVAILABLE with a Retry-After', () => {
    const wrapped = new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      cause: new DrizzleQueryError('select 1', [], pg('57P01')),
    });
    const mapped = toTRPCError(wrapped);
    expect(mapped.code).toBe('SERVICE_UNAVAILABLE');
    expect(retryAfterSecondsOf(mapped)).toBeGreaterThan(0);
    expect(toTRPCError(new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: pg('42703') })).code).toBe(
      'INTERNAL_SERVER_ERROR',
    );
  });
});
