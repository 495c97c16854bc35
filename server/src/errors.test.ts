import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { zodFieldErrors } from './errors.ts';

const fieldsOf = (schema: z.ZodType, input: unknown) => {
  const r = schema.safeParse(input);
  if (r.success) throw new Error('expected a failure');
  return zodFieldErrors(r.error);
};

describe('input errors name their fields', () => {
  it('names each unknown key, nested ones with their path', () => {
    const s = z.strictObject({ order: z.strictObject({ qty: z.string() }) });
    expect(fieldsOf(s, JSON.parse('{"order":{"qty":"1","tenantId":"x","__proto__":{}},"extra":1}'))).toEqual([
      { path: 'order.tenantId', message: 'unknown key' },
      { path: 'order.__proto__', message: 'unknown key' },
      { path: 'extra', message: 'unknown key' },
    ]);
  });

  it('reports the closest branch of a union field by field', () => {
    const s = z.strictObject({
      item: z.union([z.strictObject({ a: z.number(), b: z.number() }), z.strictObject({ c: z.string() })]),
    });
    expect(fieldsOf(s, { item: { c: 5 } })).toEqual([
      { path: 'item.c', message: 'Invalid input: expected string, received number' },
    ]);
  });

  it('keeps the root as (input) and never echoes the value', () => {
    const out = fieldsOf(z.strictObject({ email: z.string() }), 'secret-value');
    expect(out[0]?.path).toBe('(input)');
    expect(JSON.stringify(out)).not.toContain('secret-value');
  });
});
