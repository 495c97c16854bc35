import { AppError, ErrorCode } from '@aegis/shared/errors';

/** Bytes per name slot in the shared name table: a length byte and up to 64 ASCII characters. */
const NAME_STRIDE = 72;
const NAMES_HEADER_BYTES = 8;

/**
 * Symbol string <-> dense id (0, 1, 2, …). Ids index the per-symbol feature state and pick the
 * shard (`id % shards`), so they are dense and never reused. The capacity is fixed at start: the
 * feature state in SharedArrayBuffer is sized for it. Lookups on the hot path use `idOf` on an
 * already interned string (a Map hit, no allocation).
 */
export class SymbolTable {
  readonly capacity: number;
  readonly shards: number;
  readonly #ids = new Map<string, number>();
  readonly #names: string[] = [];
  /**
   * The names again in a SharedArrayBuffer, for other threads (the writer): word 0 = count
   * (Atomics), then one NAME_STRIDE slot per id. A name is written before the count is
   * published and before any tick of that symbol enters a ring, so a thread that sees a tick
   * (after the ring's Atomics head load) can read its symbol's name without a message.
   */
  readonly namesSab: SharedArrayBuffer;
  readonly #nameCount: Int32Array;
  readonly #nameBytes: Uint8Array;

  constructor(options: { capacity: number; shards: number }) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'symbol table: capacity must be a positive integer');
    }
    if (!Number.isInteger(options.shards) || options.shards < 1) {
      throw new AppError(ErrorCode.BAD_INPUT, 'symbol table: shards must be a positive integer');
    }
    this.capacity = options.capacity;
    this.shards = options.shards;
    this.namesSab = new SharedArrayBuffer(NAMES_HEADER_BYTES + options.capacity * NAME_STRIDE);
    this.#nameCount = new Int32Array(this.namesSab, 0, 1);
    this.#nameBytes = new Uint8Array(this.namesSab, NAMES_HEADER_BYTES);
  }

  get size(): number {
    return this.#names.length;
  }

  /** The id of a symbol, interning it if new; -1 when the table is full or the name invalid. */
  intern(symbol: string): number {
    const id = this.#ids.get(symbol);
    if (id !== undefined) return id;
    if (this.#names.length >= this.capacity || !isValidSymbol(symbol)) return -1;
    const next = this.#names.length;
    this.#ids.set(symbol, next);
    this.#names.push(symbol);
    const at = next * NAME_STRIDE;
    this.#nameBytes[at] = symbol.length;
    for (let i = 0; i < symbol.length; i++) this.#nameBytes[at + 1 + i] = symbol.charCodeAt(i);
    Atomics.store(this.#nameCount, 0, next + 1);
    return next;
  }

  /** The id of a known symbol, or -1. */
  idOf(symbol: string): number {
    return this.#ids.get(symbol) ?? -1;
  }

  symbolOf(id: number): string {
    const name = this.#names[id];
    if (name === undefined) throw new AppError(ErrorCode.NOT_FOUND, `symbol table: unknown id ${id}`);
    return name;
  }

  shardOf(id: number): number {
    return id % this.shards;
  }

  /** Symbol names in id order (for the writer's text encoding and the binary file dictionary). */
  names(): readonly string[] {
    return this.#names;
  }
}

/**
 * 1–64 printable ASCII characters without separators (`,` `"` tab, whitespace) — safe in CSV and
 * COPY text; a superset of the instrument names the server accepts (shared/src/schemas/orderflow.ts).
 */
export function isValidSymbol(symbol: string): boolean {
  return /^[A-Za-z0-9._:/^-]{1,64}$/.test(symbol);
}

/** Reads a SymbolTable's names from its `namesSab` in another thread (names are append-only). */
export class SymbolNamesReader {
  readonly #count: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #cache: string[] = [];

  constructor(namesSab: SharedArrayBuffer) {
    this.#count = new Int32Array(namesSab, 0, 1);
    this.#bytes = new Uint8Array(namesSab, NAMES_HEADER_BYTES);
  }

  /** The name of a symbol id, or undefined if that id was never interned. */
  nameOf(id: number): string | undefined {
    if (id < this.#cache.length) return this.#cache[id];
    const count = Atomics.load(this.#count, 0);
    for (let i = this.#cache.length; i < count; i++) {
      const at = i * NAME_STRIDE;
      const len = this.#bytes[at] as number;
      this.#cache.push(String.fromCharCode(...this.#bytes.subarray(at + 1, at + 1 + len)));
    }
    return this.#cache[id];
  }

  get size(): number {
    return this.#cache.length;
  }
}
