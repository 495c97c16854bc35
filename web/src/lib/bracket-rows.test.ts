import { describe, expect, it } from 'vitest';
import { groupBrackets } from './bracket-rows.ts';

const o = (
  id: string,
  parentOrderId: string | null = null,
  bracketRole: 'stop' | 'target' | null = null,
) => ({
  id,
  parentOrderId,
  bracketRole,
});

describe('orders view: bracket legs under their entry', () => {
  it('moves legs under their entry (stop first), keeps the rest in order, leaves orphans in place', () => {
    const list = [o('T', 'E', 'target'), o('S', 'E', 'stop'), o('P'), o('E'), o('X', 'gone', 'stop')];
    expect(groupBrackets(list).map((r) => r.id)).toEqual(['P', 'E', 'S', 'T', 'X']);
  });
});
