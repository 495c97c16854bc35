import { describe, expect, it } from 'vitest';
import { QuoteBook } from './quote-book.ts';

const NOW = Date.parse('2026-11-25T15:00:00Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs);

describe('QuoteBook and the future', () => {
  it('refuses a quote or trade dated beyond the skew, so it cannot block later real ones', () => {
    const book = new QuoteBook({ now: () => NOW });
    expect(book.setQuote('PSX', '124.50', '124.51', '10', '10', at(-1000))).toBe(true);
    // The poisoned quote of issue 9: 50 minutes ahead at half the price.
    expect(book.setQuote('PSX', '62.26', '62.27', '10', '10', at(50 * 60_000))).toBe(false);
    expect(book.setTrade('PSX', '62.27', '50', at(50 * 60_000))).toBe(false);
    expect(book.rejectedFuture).toBe(2);
    expect(book.get('PSX')?.ask?.toString()).toBe('124.51');
    // A later real quote still wins "newest".
    expect(book.setQuote('PSX', '130', '130.01', '10', '10', at(-10))).toBe(true);
    expect(book.get('PSX')?.ask?.toString()).toBe('130.01');
    expect(book.get('PSX')?.last).toBeNull();
  });

  it('tolerates the clock skew between machines (2 s by default)', () => {
    const book = new QuoteBook({ now: () => NOW });
    expect(book.setQuote('PSX', '1', '1.01', '1', '1', at(1999))).toBe(true);
    const strict = new QuoteBook({ now: () => NOW, maxFutureSkewMs: 0 });
    expect(strict.setQuote('PSX', '1', '1.01', '1', '1', at(1))).toBe(false);
  });
});
