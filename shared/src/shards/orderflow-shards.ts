import type { Bus, StreamFields } from '../bus/types.ts';

/**
 * The order-flow shard map, shared by every engine and every producer: a symbol belongs to shard
 * `fnv1a32(symbol) mod N`. FNV-1a over the symbol's UTF-16 code units is stable across processes,
 * Node versions and machines (no seed, no `Math.random`), so a producer and any number of engines
 * agree on it as long as they agree on N (`ENGINE_ORDERFLOW_SHARDS` on the engines, the same
 * number given to the producer).
 *
 * N = 0 means "not sharded": one stream `<prefix>orderflow`, read by a single engine through its
 * consumer group (the layout before shard leases). N ≥ 1: shard k's events go to the stream
 * `<prefix>orderflow:<k>`, and exactly one engine at a time reads it (engine/src/shards/).
 */
export function symbolShard(symbol: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1)
    throw new RangeError(`shards must be an integer ≥ 1: ${shards}`);
  let h = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) {
    h ^= symbol.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** The stream of shard `shard` (N ≥ 1), or the single unsharded stream (N = 0). */
export function orderflowStream(prefix: string, shards: number, shard = 0): string {
  return shards === 0 ? `${prefix}orderflow` : `${prefix}orderflow:${shard}`;
}

/** The stream a symbol's order-flow events go to. */
export function orderflowStreamOf(prefix: string, shards: number, symbol: string): string {
  return shards === 0
    ? orderflowStream(prefix, 0)
    : orderflowStream(prefix, shards, symbolShard(symbol, shards));
}

/**
 * Appends market order-flow events (the flat string fields `engine/src/feeds/orderflow-stream.ts`
 * documents, `symbol` required) to the stream of each one's shard. Per-symbol order is kept:
 * all of a symbol's events go to one stream, appended in call order.
 */
export class OrderflowStreamProducer {
  readonly #bus: Bus;
  readonly #prefix: string;
  readonly #shards: number;
  readonly #maxLen: number | undefined;

  constructor(options: { bus: Bus; prefix: string; shards: number; maxLen?: number }) {
    if (!Number.isInteger(options.shards) || options.shards < 0)
      throw new RangeError(`shards must be an integer ≥ 0: ${options.shards}`);
    this.#bus = options.bus;
    this.#prefix = options.prefix;
    this.#shards = options.shards;
    this.#maxLen = options.maxLen;
  }

  /** Appends one event; resolves to its stream and entry id. */
  async append(fields: StreamFields): Promise<{ stream: string; id: string }> {
    const symbol = fields.symbol;
    if (typeof symbol !== 'string' || symbol === '')
      throw new TypeError('an order-flow event needs a symbol');
    const stream = orderflowStreamOf(this.#prefix, this.#shards, symbol);
    const id = await this.#bus.xadd(stream, fields, this.#maxLen ? { maxLen: this.#maxLen } : undefined);
    return { stream, id };
  }
}
