import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode, isAppError, isAppErrorFor } from './errors.ts';

describe('AppError', () => {
  it('keeps its code, details and cause', () => {
    const cause = new Error('socket closed');
    const e = new AppError(ErrorCode.UNAVAILABLE, 'broker down', { reason: 'x' }, { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('AppError');
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.details).toEqual({ reason: 'x' });
    expect(e.cause).toBe(cause);
  });

  it('isAppError matches any AppError, or only the given code', () => {
    const e = new AppError(ErrorCode.TIMEOUT, 'late');
    expect(isAppError(e)).toBe(true);
    expect(isAppError(e, ErrorCode.TIMEOUT)).toBe(true);
    expect(isAppError(e, ErrorCode.UNAVAILABLE)).toBe(false);
    expect(isAppError(new Error('late'))).toBe(false);
    expect(isAppError({ code: 'TIMEOUT', message: 'late' })).toBe(false);
  });

  it('isAppErrorFor tells apart failures that share a code by their reason', () => {
    const broker = new AppError(ErrorCode.TIMEOUT, 'late', { reason: 'broker_call_timeout' });
    const other = new AppError(ErrorCode.TIMEOUT, 'late', { reason: 'halt_engage_deadline' });
    const bare = new AppError(ErrorCode.TIMEOUT, 'late');
    expect(isAppErrorFor(broker, ErrorCode.TIMEOUT, 'broker_call_timeout')).toBe(true);
    expect(isAppErrorFor(other, ErrorCode.TIMEOUT, 'broker_call_timeout')).toBe(false);
    expect(isAppErrorFor(bare, ErrorCode.TIMEOUT, 'broker_call_timeout')).toBe(false);
    expect(isAppErrorFor(broker, ErrorCode.UNAVAILABLE, 'broker_call_timeout')).toBe(false);
  });
});
