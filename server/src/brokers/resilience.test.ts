import { describe, expect, it } from 'vitest';
import { BrokerCallPolicy, brokerErrorFromHttp } from './resilience.ts';
import { BrokerError, BrokerErrorCode } from './types.ts';

const never = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(BrokerError);
    return (e as BrokerError).brokerCode;
  }
}

describe('BrokerCallPolicy', () => {
  it('turns a slow call into BROKER_TIMEOUT naming the operation and broker', async () => {
    const p = new BrokerCallPolicy({ broker: 'test', timeoutMs: 20, readAttempts: 1 });
    const err = await p.call('getAccount', 'read', never).catch((e: BrokerError) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).toDetails()).toMatchObject({
      type: 'broker_error',
      code: BrokerErrorCode.TIMEOUT,
      operation: 'getAccount',
      broker: 'test',
      retryable: true,
    });
  });

  it('retries a retryable read, never a write', async () => {
    const p = new BrokerCallPolicy({
      broker: 'test',
      readAttempts: 3,
      retryInitialDelayMs: 1,
      breakAfter: 100,
    });
    let reads = 0;
    const read = await p.call('listPositions', 'read', async () => {
      reads++;
      if (reads < 3) throw brokerErrorFromHttp(503, 'down', { operation: 'listPositions', broker: 'test' });
      return 'positions';
    });
    expect(read).toBe('positions');
    expect(reads).toBe(3);
    let writes = 0;
    const code = await codeOf(
      p.call('placeOrder', 'write', async () => {
        writes++;
        throw brokerErrorFromHttp(503, 'down', { operation: 'placeOrder', broker: 'test' });
      }),
    );
    expect(code).toBe(BrokerErrorCode.UNAVAILABLE);
    expect(writes).toBe(1);
  });

  it('does not retry a refusal (it is not retryable)', async () => {
    const p = new BrokerCallPolicy({ broker: 'test', readAttempts: 3, retryInitialDelayMs: 1 });
    let calls = 0;
    const code = await codeOf(
      p.call('getOrder', 'read', async () => {
        calls++;
        throw brokerErrorFromHttp(404, 'no such order', { operation: 'getOrder', broker: 'test' });
      }),
    );
    expect(code).toBe(BrokerErrorCode.NOT_FOUND);
    expect(calls).toBe(1);
  });

  it('opens the breaker after consecutive timeouts and fails fast until it closes', async () => {
    const opened: BrokerError[] = [];
    let closed = 0;
    const p = new BrokerCallPolicy({
      broker: 'test',
      timeoutMs: 10,
      readAttempts: 1,
      breakAfter: 2,
      halfOpenAfterMs: 50,
      onOpen: (e) => opened.push(e),
      onClose: () => closed++,
    });
    expect(await codeOf(p.call('a', 'write', never))).toBe(BrokerErrorCode.TIMEOUT);
    expect(p.open).toBe(false);
    expect(await codeOf(p.call('a', 'write', never))).toBe(BrokerErrorCode.TIMEOUT);
    expect(p.open).toBe(true);
    expect(opened).toHaveLength(1);
    let called = false;
    const fast = await codeOf(
      p.call('b', 'write', async () => {
        called = true;
        return 1;
      }),
    );
    expect(fast).toBe(BrokerErrorCode.CIRCUIT_OPEN);
    expect(called).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(await p.call('b', 'write', async () => 'ok')).toBe('ok');
    expect(p.open).toBe(false);
    expect(closed).toBe(1);
  });

  it('does not count a rejection against the broker health', async () => {
    const opened: BrokerError[] = [];
    const p = new BrokerCallPolicy({ broker: 'test', breakAfter: 2, onOpen: (e) => opened.push(e) });
    for (let i = 0; i < 5; i++)
      await codeOf(
        p.call('placeOrder', 'write', async () => {
          throw brokerErrorFromHttp(403, 'insufficient buying power', {
            operation: 'placeOrder',
            broker: 'test',
          });
        }),
      );
    expect(opened).toHaveLength(0);
  });
});

describe('brokerErrorFromHttp', () => {
  it('maps statuses to codes and keeps safe context', () => {
    const e = brokerErrorFromHttp(429, 'slow down', {
      operation: 'x',
      broker: 'b',
      retryAfterS: 3,
      brokerCode: 42,
    });
    expect(e.brokerCode).toBe(BrokerErrorCode.RATE_LIMITED);
    expect(e.retryable).toBe(true);
    expect(e.context).toEqual({ httpStatus: 429, retryAfterS: 3, brokerCode: 42 });
    expect(brokerErrorFromHttp(401, '', { operation: 'x', broker: 'b' }).brokerCode).toBe(
      BrokerErrorCode.AUTH,
    );
    expect(brokerErrorFromHttp(500, '', { operation: 'x', broker: 'b' }).retryable).toBe(true);
    expect(brokerErrorFromHttp(400, '', { operation: 'x', broker: 'b' }).retryable).toBe(false);
  });
});
