import { describe, expect, it } from 'vitest';
import { QuoteBook } from './quote-book.ts';

const NOW = Date.parse('2026-11-25T15:00:00Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs);

describe('QuoteBook and the future', () => {
  it('refuses a quote or trade dated beyond the skew, so it cannot block later real ones', () => {
    const book = new QuoteBook({ now: () => NOW });
    expect(book.setQuote('PSX', '124.50', '124.51', '10', '10', at(-1000))).toBe(true);
    // A poisoned quote: 50 minutes ahead at half the price (docs/architecture.md, "One price source").
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

describe('QuoteBook marks', () => {
  it('follows every update although it is computed once per update', () => {
    const book = new QuoteBook({ now: () => NOW });
    expect(book.mark('PSX')).toBeNull();
    book.setTrade('PSX', '100', '1', at(-50));
    expect(book.mark('PSX')?.toString()).toBe('100'); // one-sided: last trade
    book.setQuote('PSX', '100', '101', '1', '1', at(-40));
    expect(book.mark('PSX')?.toString()).toBe('100.5');
    expect(book.mark('PSX')).toBe(book.mark('PSX')); // held until the next update
    book.setQuote('PSX', '102', '102.5', '1', '1', at(-30));
    expect(book.mark('PSX')?.toString()).toBe('102.25');
    book.setTrade('PSX', '90', '1', at(-20)); // a trade does not move a two-sided mark
    expect(book.mark('PSX')?.toString()).toBe('102.25');
    // A refused update leaves the mark as it was.
    expect(book.setQuote('PSX', '110', '100', '1', '1', at(-10))).toBe(false);
    expect(book.mark('PSX')?.toString()).toBe('102.25');
    expect(book.mark('OTHER')).toBeNull();
    book.setQuote('OTHER', '1', '3', '1', '1', at(-10));
    expect(book.mark('OTHER')?.toString()).toBe('2');
  });
});
