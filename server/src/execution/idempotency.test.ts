import { AppError } from '@aegis/shared/errors';
import { describe, expect, it } from 'vitest';
import { BrokerError, BrokerErrorCode } from '../brokers/types.ts';
import { isStorableError } from './idempotency.ts';

/** Which failures an idempotency key replays (stored) and which a retry with the key may cure. */
describe('isStorableError', () => {
  it('stores facts about the request, not transient failures', () => {
    expect(isStorableError(new AppError('RISK_DENIED', 'denied'))).toBe(true);
    expect(isStorableError(new AppError('BAD_INPUT', 'bad'))).toBe(true);
    expect(isStorableError(new AppError('UNAVAILABLE', 'down'))).toBe(false);
    expect(isStorableError(new AppError('TIMEOUT', 'slow'))).toBe(false);
    expect(isStorableError(new Error('plain'))).toBe(false);
  });

  it("stores a broker's word on the request, never its state at the moment", () => {
    const broker = (code: BrokerErrorCode) =>
      new BrokerError(code, code, { operation: 'place', broker: 'test' });
    expect(isStorableError(broker(BrokerErrorCode.REJECTED))).toBe(true);
    expect(isStorableError(broker(BrokerErrorCode.INVALID_REQUEST))).toBe(true);
    // Cured by relinking or re-authenticating at the gateway: the same key must go through then.
    expect(isStorableError(broker(BrokerErrorCode.AUTH))).toBe(false);
    expect(isStorableError(broker(BrokerErrorCode.REAUTH_REQUIRED))).toBe(false);
    expect(isStorableError(broker(BrokerErrorCode.PROTOCOL))).toBe(false);
    expect(isStorableError(broker(BrokerErrorCode.TIMEOUT))).toBe(false);
    expect(isStorableError(broker(BrokerErrorCode.RATE_LIMITED))).toBe(false);
    expect(isStorableError(broker(BrokerErrorCode.CIRCUIT_OPEN))).toBe(false);
  });
});
