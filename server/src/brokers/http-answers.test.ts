import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AnswerReading, httpFailureOf, jsonOrNull, readAnswer } from './http-answers.ts';
import { BrokerError, BrokerErrorCode } from './types.ts';

const order = z.object({ id: z.string() });
const refused = new BrokerError(BrokerErrorCode.REJECTED, 'venue: refused', { broker: 'venue' });

function reading(over: Partial<AnswerReading<{ id: string }>>): AnswerReading<{ id: string }> {
  return {
    broker: 'venue',
    operation: 'placeOrder',
    call: 'POST /orders',
    httpStatus: 200,
    shape: "the venue's documented shape",
    text: '{"id":"o-1"}',
    schema: order,
    ok: true,
    httpError: () => refused,
    ...over,
  };
}

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return (err as BrokerError).brokerCode;
  }
  return undefined;
};

describe('readAnswer', () => {
  it('reads a success with its schema; a 204 (no schema) is undefined', () => {
    expect(readAnswer(reading({}))).toEqual({ id: 'o-1' });
    expect(readAnswer(reading({ schema: null, text: '' }))).toBeUndefined();
  });

  it('names the broker and the call when a success is not JSON or not the documented shape', () => {
    expect(() => readAnswer(reading({ text: '<html>' }))).toThrow(
      'venue: POST /orders: response is not JSON',
    );
    expect(() => readAnswer(reading({ text: '{"id":1}' }))).toThrow(
      "venue: POST /orders: response does not match the venue's documented shape",
    );
    expect(codeOf(() => readAnswer(reading({ text: '{}' })))).toBe(BrokerErrorCode.PROTOCOL);
  });

  it("a failure status is the broker's own error, even with a documented body", () => {
    expect(() => readAnswer(reading({ ok: false, httpStatus: 400 }))).toThrow(refused);
  });

  it('bodyOnFailure: a documented body on a failure status is the answer; anything else the error', () => {
    const failed = { ok: false, httpStatus: 400, bodyOnFailure: true };
    expect(readAnswer(reading(failed))).toEqual({ id: 'o-1' });
    expect(() => readAnswer(reading({ ...failed, text: '{"error":"x"}' }))).toThrow(refused);
    expect(() => readAnswer(reading({ ...failed, text: 'bad gateway' }))).toThrow(refused);
  });

  it('emptyIsNull: an empty success body is JSON null, read with the schema', () => {
    expect(readAnswer({ ...reading({ text: '', emptyIsNull: true }), schema: order.nullable() })).toBeNull();
    expect(() => readAnswer(reading({ text: '' }))).toThrow('response is not JSON');
  });
});

describe('jsonOrNull', () => {
  it('is the JSON of a body, null when empty or not JSON', () => {
    expect(jsonOrNull('{"error":"x"}')).toEqual({ error: 'x' });
    expect(jsonOrNull('')).toBeNull();
    expect(jsonOrNull('<html>proxy</html>')).toBeNull();
  });
});

describe('httpFailureOf', () => {
  const res = { status: 503, statusText: 'Service Unavailable' };

  it("carries the broker's own message and code, with Retry-After, under the status's code", () => {
    const f = httpFailureOf({
      broker: 'venue',
      operation: 'placeOrder',
      res,
      said: { brokerCode: 40010001, message: 'market closed' },
      retryAfterS: 3,
    });
    expect(f.message).toBe('market closed');
    expect(f.base.message).toBe('venue: market closed');
    expect(f.base.brokerCode).toBe(BrokerErrorCode.UNAVAILABLE);
    expect(f.context).toEqual({
      httpStatus: 503,
      brokerCode: 40010001,
      retryAfterS: 3,
      brokerMessage: 'market closed',
    });
  });

  it('says the status line when the body said nothing (or was not the error shape)', () => {
    const f = httpFailureOf({
      broker: 'venue',
      operation: 'getOrder',
      res: { status: 404, statusText: '' },
      retryAfterS: null,
    });
    expect(f.base.message).toBe('venue: 404');
    expect(f.base.brokerCode).toBe(BrokerErrorCode.NOT_FOUND);
    expect(f.context).toEqual({ httpStatus: 404, brokerMessage: '404' });
    const empty = httpFailureOf({
      broker: 'venue',
      operation: 'x',
      res,
      said: { message: '' },
      retryAfterS: null,
    });
    expect(empty.message).toBe('503 Service Unavailable');
  });
});
