import { TRPCClientError } from '@trpc/client';
import { describe, expect, test } from 'vitest';
import { fieldErrorsOf } from './field-errors.ts';

/** An error as the server's formatter sends it (server/src/trpc.ts: data.fields, dotted paths). */
function serverError(fields: { path: string; message: string }[] | null) {
  return TRPCClientError.from({
    error: { message: 'Invalid input', code: -32600, data: { code: 'BAD_REQUEST', httpStatus: 400, fields } },
  });
}

const KNOWN = new Set(['name', 'instruments', 'data', 'data.from', 'execution.takerFeeBps']);

describe('field errors of a server error', () => {
  test('each named field gets its own message; array elements fold onto their input', () => {
    const e = serverError([
      { path: 'name', message: 'Too small' },
      { path: 'instruments.2', message: 'symbol has invalid characters' },
      { path: 'execution.takerFeeBps', message: 'must be a decimal string' },
    ]);
    expect(fieldErrorsOf(e, KNOWN)).toEqual({
      name: 'Too small',
      instruments: 'symbol has invalid characters',
      'execution.takerFeeBps': 'must be a decimal string',
    });
  });

  test('the longest known prefix wins; messages for one field are joined', () => {
    const e = serverError([
      { path: 'data.from', message: 'Invalid ISO datetime' },
      { path: 'data.to', message: 'Invalid ISO datetime' },
      { path: 'data.from', message: 'must be before to' },
    ]);
    expect(fieldErrorsOf(e, KNOWN)).toEqual({
      'data.from': 'Invalid ISO datetime; must be before to',
      data: 'Invalid ISO datetime',
    });
  });

  test('unknown paths go under "" with their path; a wrapper prefix is stripped', () => {
    const e = serverError([
      { path: 'limits.maxOrderQty', message: 'bad' },
      { path: 'spec.name', message: 'Too big' },
      { path: '', message: 'Unrecognized key: "x"' },
    ]);
    expect(fieldErrorsOf(e, KNOWN, { prefix: 'spec.' })).toEqual({
      '': 'limits.maxOrderQty: bad; Unrecognized key: "x"',
      name: 'Too big',
    });
  });

  test('no fields, or not a server error: nothing to place', () => {
    expect(fieldErrorsOf(serverError(null), KNOWN)).toEqual({});
    expect(fieldErrorsOf(new Error('network'), KNOWN)).toEqual({});
  });
});
