import { Writable } from 'node:stream';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { serializeError, statementOf } from './error-serializer.ts';
import { createLogger } from './logging.ts';

/** A PostgresError as the driver builds it: server fields enumerable, query and parameters not. */
function pgError(fields: Record<string, string>, query: string, parameters: unknown[]) {
  const e = new postgres.PostgresError(fields as never);
  Object.defineProperties(e, {
    query: { value: query, enumerable: false },
    parameters: { value: parameters, enumerable: false },
    args: { value: parameters, enumerable: false },
  });
  return e;
}

const EMAIL = 'typed.secret@example.com';
const SQL = 'select "id", "email" from "users" where lower("users"."email") = lower($1) limit $2';

describe('error serializer', () => {
  it('keeps the SQLSTATE and the statement, drops bind values, SQL text and detail', () => {
    const cause = pgError(
      {
        severity: 'ERROR',
        code: '23505',
        message: 'duplicate key value violates unique constraint "users_email_key"',
        detail: `Key (email)=(${EMAIL}) already exists.`,
        constraint_name: 'users_email_key',
        table_name: 'users',
      },
      SQL,
      [EMAIL, 1],
    );
    const err = new DrizzleQueryError(SQL, [EMAIL, 1], cause);
    const out = serializeError(err) as Record<string, unknown>;
    const text = JSON.stringify(out);
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain('lower($1)');
    expect(out).toMatchObject({ type: 'DrizzleQueryError', message: 'Failed query (select users)' });
    expect(out.cause).toMatchObject({
      type: 'PostgresError',
      sqlstate: '23505',
      statement: 'select users',
      constraint_name: 'users_email_key',
      message: 'duplicate key value violates unique constraint "users_email_key"',
    });
    expect(String(out.stack)).toMatch(/^DrizzleQueryError: Failed query \(select users\)\n\s+at /);
  });

  it('redacts values that data-exception messages quote', () => {
    const e = pgError(
      { severity: 'ERROR', code: '22P02', message: `invalid input syntax for type uuid: "${EMAIL}"` },
      'insert into "orders" ("id") values ($1)',
      [EMAIL],
    );
    const out = serializeError(e) as Record<string, unknown>;
    expect(out.message).toBe('invalid input syntax for type uuid: "…"');
    expect(out.statement).toBe('insert orders');
    expect(JSON.stringify(out)).not.toContain(EMAIL);
  });

  it('names statements by operation and table', () => {
    expect(statementOf('update "orders" set "status" = $1 where "id" = $2')).toBe('update orders');
    expect(statementOf('delete from public.sessions where id = $1')).toBe('delete sessions');
    expect(statementOf("select set_config('app.tenant_id', $1, true)")).toBe('select');
  });

  it('is the logger serializer for err and error', () => {
    const lines: string[] = [];
    const log = createLogger(
      { name: 't' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    const err = new DrizzleQueryError(SQL, [EMAIL], new Error('boom'));
    log.error({ err }, 'failed');
    log.error({ error: err }, 'failed');
    log.error(err, 'failed');
    expect(lines).toHaveLength(3);
    for (const l of lines) {
      expect(l).not.toContain(EMAIL);
      expect(l).toContain('Failed query (select users)');
      expect(l).toContain('boom');
    }
  });
});
