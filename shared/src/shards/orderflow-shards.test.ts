import { describe, expect, it } from 'vitest';
import { orderflowStream, orderflowStreamOf, symbolShard } from './orderflow-shards.ts';

describe('order-flow shard map', () => {
  it('is FNV-1a 32 mod N: fixed values every process computes alike', () => {
    // FNV-1a 32 reference values: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(symbolShard('', 1 << 30)).toBe(0x811c9dc5 % (1 << 30));
    expect(symbolShard('a', 0x7fffffff)).toBe(0xe40c292c % 0x7fffffff);
    expect(symbolShard('foobar', 1000)).toBe(0xbf9cf968 % 1000);
  });

  it('spreads symbols over every shard and keeps one symbol in one shard', () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 800; i++) counts[symbolShard(`SYM${i}`, 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(50);
    expect(symbolShard('BTC-USD', 8)).toBe(symbolShard('BTC-USD', 8));
    expect(symbolShard('BTC-USD', 1)).toBe(0);
  });

  it('names the streams: unsharded keeps the single stream', () => {
    expect(orderflowStream('aegis:', 0)).toBe('aegis:orderflow');
    expect(orderflowStream('aegis:', 4, 3)).toBe('aegis:orderflow:3');
    expect(orderflowStreamOf('p:', 4, 'ETH-USD')).toBe(`p:orderflow:${symbolShard('ETH-USD', 4)}`);
    expect(() => symbolShard('X', 0)).toThrow(RangeError);
  });
});
