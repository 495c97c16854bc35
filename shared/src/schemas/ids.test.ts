import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { OrderId, ProposalId } from '../ids.ts';
import {
  apiKeyIdSchema,
  comboIdSchema,
  orderIdSchema,
  proposalIdSchema,
  signalIdSchema,
  tenantIdSchema,
  userIdSchema,
} from './ids.ts';

const id = '6a0c3e4e-0000-4000-8000-000000000002';

describe('id schemas', () => {
  it('parse a uuid to the same string, typed as its kind', () => {
    const o: OrderId = orderIdSchema.parse(id);
    const p: ProposalId = proposalIdSchema.parse(id);
    // @ts-expect-error an order id schema yields an OrderId, not a ProposalId
    const wrong: ProposalId = orderIdSchema.parse(id);
    expect([o, p, wrong]).toEqual([id, id, id]);
  });

  it('refuse what z.uuid() refuses, with the same issues', () => {
    for (const schema of [
      apiKeyIdSchema,
      tenantIdSchema,
      userIdSchema,
      orderIdSchema,
      comboIdSchema,
      proposalIdSchema,
      signalIdSchema,
    ]) {
      for (const bad of ['not-a-uuid', '', 42, null, `${id}x`]) {
        const ours = schema.safeParse(bad);
        const plain = z.uuid().safeParse(bad);
        expect(ours.success).toBe(false);
        expect(ours.error?.issues).toEqual(plain.error?.issues);
      }
    }
  });

  it('in an object input, the error names the field as before', () => {
    const ours = z.strictObject({ orderId: orderIdSchema }).safeParse({ orderId: 'x' });
    const plain = z.strictObject({ orderId: z.uuid() }).safeParse({ orderId: 'x' });
    expect(ours.error?.issues).toEqual(plain.error?.issues);
    expect(ours.error?.issues[0]?.path).toEqual(['orderId']);
  });
});
