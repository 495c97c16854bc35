import type { ChainContractView } from '@aegis/shared/schemas/option-chain';
import { describe, expect, test } from 'vitest';
import { atmStrike, strikeRows } from './option-chain-rows.ts';

const contract = (right: 'call' | 'put', strike: string, expiry = '2027-01-15'): ChainContractView => ({
  symbol: `SYN0001-${expiry.slice(2).replaceAll('-', '')}${right === 'call' ? 'C' : 'P'}${strike}`,
  right,
  strike,
  expiry,
  dte: 30,
  bid: '1',
  ask: '1.1',
  mid: '1.05',
  spreadPct: 9.5,
  openInterest: 10,
  volume: 1,
  iv: 0.4,
  greeks: null,
  liquidity: 50,
  excludedBy: [],
});

describe('strikeRows', () => {
  test('one row per strike of the expiry, numeric order, call and put paired', () => {
    const rows = strikeRows(
      [
        contract('put', '100'),
        contract('call', '97.5'),
        contract('call', '100'),
        contract('call', '102.5', '2027-02-19'),
        contract('put', '102.5'),
      ],
      '2027-01-15',
    );
    expect(rows.map((r) => r.strike)).toEqual(['97.5', '100', '102.5']);
    expect(rows[0]!.put).toBeUndefined();
    expect(rows[1]!.call?.right).toBe('call');
    expect(rows[1]!.put?.right).toBe('put');
    // The February call is another expiry's.
    expect(rows[2]!.call).toBeUndefined();
  });

  test('the at-the-money strike is the nearest to the underlying', () => {
    const rows = strikeRows(
      ['95', '97.5', '100', '102.5'].map((k) => contract('call', k)),
      null,
    );
    expect(atmStrike(rows, '98.9')).toBe('100');
    expect(atmStrike(rows, '98.7')).toBe('97.5');
    expect(atmStrike(rows, null)).toBeNull();
    expect(atmStrike([], '100')).toBeNull();
  });
});
