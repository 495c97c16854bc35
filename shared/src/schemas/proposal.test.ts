import { describe, expect, it } from 'vitest';
import { proposalInconsistencies, type TradeProposal, tradeProposalSchema } from './proposal.ts';

const base: TradeProposal = {
  instrument: 'BTC-USD',
  side: 'buy',
  quantity: '0.1',
  orderType: 'limit',
  limitPrice: '100',
  stopPrice: '95',
  targetPrice: '110',
  timeHorizon: 'hours',
  confidence: 0.7,
  riskScore: 30,
  rationale: { marketContext: 'a', signalEvidence: 'b', riskView: 'c', lessonsApplied: [] },
};

describe('trade proposal checks', () => {
  it('accepts a coherent proposal', () => {
    expect(tradeProposalSchema.parse(base)).toEqual(base);
    expect(proposalInconsistencies(base, 100)).toEqual([]);
  });

  it('refuses numbers for decimals, extra keys and out-of-range scores', () => {
    expect(tradeProposalSchema.safeParse({ ...base, quantity: 0.1 }).success).toBe(false);
    expect(tradeProposalSchema.safeParse({ ...base, note: 'x' }).success).toBe(false);
    expect(tradeProposalSchema.safeParse({ ...base, riskScore: 101 }).success).toBe(false);
    expect(tradeProposalSchema.safeParse({ ...base, quantity: '0' }).success).toBe(false);
  });

  it('names stops and targets on the wrong side, and order-type price mismatches', () => {
    expect(proposalInconsistencies({ ...base, stopPrice: '105' }, 100)).toEqual([
      'stopPrice: must be below the entry for a buy',
    ]);
    expect(proposalInconsistencies({ ...base, side: 'sell' }, 100)).toEqual([
      'targetPrice: must be below the entry for a sell',
      'stopPrice: must be above the entry for a sell',
    ]);
    expect(proposalInconsistencies({ ...base, orderType: 'market' }, 100)).toContain(
      'limitPrice: must be null for a market order',
    );
    expect(proposalInconsistencies({ ...base, limitPrice: null }, 100)).toContain(
      'limitPrice: required for a limit order',
    );
  });
});
