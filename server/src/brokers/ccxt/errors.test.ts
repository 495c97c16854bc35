import {
  AccountSuspended,
  ArgumentsRequired,
  AuthenticationError,
  BadResponse,
  BadSymbol,
  DDoSProtection,
  DuplicateOrderId,
  ExchangeError,
  ExchangeNotAvailable,
  InsufficientFunds,
  InvalidNonce,
  InvalidOrder,
  NetworkError,
  OnMaintenance,
  OperationFailed,
  OrderNotFound,
  PermissionDenied,
  RateLimitExceeded,
  RequestTimeout,
} from 'ccxt';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../types.ts';
import { brokerErrorFromCcxt, isDuplicateClientId } from './errors.ts';

describe('CCXT errors → BrokerError', () => {
  it.each([
    [
      new InsufficientFunds('binance Account has insufficient balance for requested action.'),
      'BROKER_REJECTED',
      false,
    ],
    [new InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'), 'BROKER_REJECTED', false],
    [new DuplicateOrderId('x'), 'BROKER_REJECTED', false],
    [new OrderNotFound('binance {"code":-2013,"msg":"Order does not exist."}'), 'BROKER_NOT_FOUND', false],
    [
      new AuthenticationError('binance {"code":-1022,"msg":"Signature for this request is not valid."}'),
      'BROKER_AUTH',
      false,
    ],
    [new PermissionDenied('x'), 'BROKER_AUTH', false],
    [new AccountSuspended('x'), 'BROKER_AUTH', false],
    [new RateLimitExceeded('x'), 'BROKER_RATE_LIMITED', true],
    [new DDoSProtection('binance 418'), 'BROKER_RATE_LIMITED', true],
    [
      new RequestTimeout('binance GET http://h/api/v3/account?timestamp=1&signature=ab request timed out'),
      'BROKER_TIMEOUT',
      true,
    ],
    [new NetworkError('x'), 'BROKER_UNAVAILABLE', true],
    [new ExchangeNotAvailable('x'), 'BROKER_UNAVAILABLE', true],
    [new OnMaintenance('x'), 'BROKER_UNAVAILABLE', true],
    [new InvalidNonce('x'), 'BROKER_UNAVAILABLE', true],
    [new OperationFailed('binance {"code":-1001,"msg":"Internal error"}'), 'BROKER_UNAVAILABLE', true],
    [new BadResponse('x'), 'BROKER_PROTOCOL', false],
    [new BadSymbol('x'), 'BROKER_INVALID_REQUEST', false],
    [new ArgumentsRequired('x'), 'BROKER_INVALID_REQUEST', false],
    [new ExchangeError('x'), 'BROKER_INVALID_REQUEST', false],
    [new Error('socket hang up'), 'BROKER_UNAVAILABLE', true],
  ])('%s → %s', (err, code, retryable) => {
    const be = brokerErrorFromCcxt(err, 'ccxt:binance', 'placeOrder');
    expect(be).toBeInstanceOf(BrokerError);
    expect([be.brokerCode, be.retryable, be.broker, be.operation]).toEqual([
      code,
      retryable,
      'ccxt:binance',
      'placeOrder',
    ]);
    expect(be.message).not.toContain('signature=');
  });

  it('keeps the venue code, from the message or from the matching last body', () => {
    expect(
      brokerErrorFromCcxt(new InvalidOrder('binance {"code":-2010,"msg":"x"}'), 'b', 'o').context.brokerCode,
    ).toBe(-2010);
    const okx = new InsufficientFunds('okx {"code":"1","data":[{"sCode":"51008","sMsg":"Insufficient"}]}');
    expect(brokerErrorFromCcxt(okx, 'b', 'o').context.brokerCode).toBe(51008);
    const plain = new InsufficientFunds('binance Account has insufficient balance for requested action.');
    const body = { code: -2010, msg: 'Account has insufficient balance for requested action.' };
    expect(brokerErrorFromCcxt(plain, 'b', 'o', body).context.brokerCode).toBe(-2010);
    expect(
      brokerErrorFromCcxt(plain, 'b', 'o', { code: -1, msg: 'another call' }).context.brokerCode,
    ).toBeUndefined();
  });

  it('recognises a taken client order id', () => {
    const dup = (m: string) => isDuplicateClientId(brokerErrorFromCcxt(new InvalidOrder(m), 'b', 'o'));
    expect(dup('binance {"code":-2010,"msg":"Duplicate order sent."}')).toBe(true);
    expect(dup('okx {"code":"1","data":[{"sCode":"51016","sMsg":"Duplicated clOrdId"}]}')).toBe(true);
    expect(dup('binance {"code":-2010,"msg":"Account has insufficient balance for requested action."}')).toBe(
      false,
    );
  });
});
